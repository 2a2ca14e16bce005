import OpenAI from 'openai';
import { afterEach, expect, it } from 'vitest';
import { type RedisClient, createRedis, readEvents } from '@mana/jobs';
import { type Stack, startStack } from '@mana/testing';

// A job answered whole, finished by a worker in the API's own process (the gateway, npm start),
// has its end handed to the API there instead of published through Redis (packages/jobs,
// local-replies.ts). Redis still holds the end: in the record and the job's stream.
let stack: Stack | undefined;
let subscriber: RedisClient | undefined;
afterEach(async () => {
  subscriber?.disconnect();
  await stack?.close();
  stack = undefined;
});

const messages = [{ role: 'user' as const, content: 'hello there' }];

it("answers a sync chat without a message on the API's channel, and keeps its end in the record and the stream", async () => {
  stack = await startStack();
  subscriber = createRedis(stack.config.redis.target, { subscriber: true });
  const heard: Array<{ job: string; type: string }> = [];
  subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => heard.push(JSON.parse(message) as { job: string; type: string }));
  await subscriber.psubscribe(`${stack.keys.prefix}:ev:api:*`);
  const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'none', maxRetries: 0 });

  const { data: answer, response } = await client.chat.completions.create({ model: 'ollama/gemma3:4b', messages }).withResponse();
  const syncJob = response.headers.get('x-mana-job-id')!;
  expect(answer.choices[0]!.message.content).toBeTruthy();
  // A streamed answer's events all go on that channel, after the sync job's end would have.
  const streamed = await client.chat.completions.create({ model: 'ollama/gemma3:4b', messages, stream: true }).withResponse();
  const streamJob = streamed.response.headers.get('x-mana-job-id')!;
  for await (const chunk of streamed.data) void chunk;
  await expect.poll(() => heard.some((e) => e.job === streamJob && e.type === 'done')).toBe(true);
  expect(heard.filter((e) => e.job === syncJob)).toEqual([]);

  const record = await stack.pipeline.records.get(syncJob);
  expect(record?.status).toBe('succeeded');
  const events = await readEvents(stack.pipeline.redis, stack.keys, syncJob);
  expect(events.map((e) => e.type)).toEqual(['queued', 'started', 'done']);
  const done = events.at(-1)!;
  expect(done.type === 'done' && done.result).toEqual(record?.result);
  expect(JSON.stringify(record?.result)).toContain(answer.choices[0]!.message.content!);
});

it('hands over embeddings whole: the vectors the client gets are the ones the record keeps', async () => {
  stack = await startStack();
  const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'none', maxRetries: 0 });
  const { data, response } = await client.embeddings.create({ model: 'ollama/nomic-embed-text', input: ['one', 'two'], encoding_format: 'base64' }).withResponse();
  const record = await stack.pipeline.records.get(response.headers.get('x-mana-job-id')!);
  expect(data.data.map((d) => d.embedding)).toEqual((record?.result as { f32: string[] }).f32);
});

import { afterEach, expect, it } from 'vitest';
import { parseTarget } from '@mana/aliases';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { type JobEvent, JobEventHub } from './events.js';
import { Keys } from './keys.js';
import { JobRecords } from './record.js';
import { FINISH } from './record-scripts.js';
import type { RedisClient } from './redis.js';

let connections: RedisClient[] = [];
let hub: JobEventHub | undefined;
let prefix = '';
afterEach(async () => {
  hub?.close();
  for (const c of connections) c.disconnect();
  connections = [];
  await deletePrefix(prefix);
});

const parsed = parseTarget('ollama/gemma3:4b');
if (!parsed.ok) throw new Error(parsed.error);
const target = parsed.target;
const usage = { promptTokens: 3, completionTokens: 2 };

/** An API's hub and a worker's records in this one process, as in the gateway, with a job the hub waits for whole. */
async function waitingJob() {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  const [redis, subscriber, reader] = [testRedis(), testRedis(), testRedis()];
  connections.push(redis, subscriber, reader);
  hub = await JobEventHub.start(subscriber, reader, keys, 'api-1');
  const records = new JobRecords(redis, keys, 3600);
  const id = `job_${prefix.slice(-8)}`;
  const heard: JobEvent[] = [];
  hub.listen(id, (event) => heard.push(event), { endsOnly: true });
  const job = { id, kind: 'chat' as const, priority: 'interactive' as const, maxWaitMs: null, requested: 'ollama/gemma3:4b', alias: null, chain: [target] };
  await records.create({ ...job, replyTo: hub.channel, replyEndsOnly: true });
  return { keys, redis, records, id, heard };
}

it('hands the end to the hub in this process, with the result as the worker made it', async () => {
  const { records, id, heard } = await waitingJob();
  const result = { message: { role: 'assistant', content: 'pong' } };
  expect(await records.succeed(id, 0, { result, usage, model: 'gemma3:4b', provider: 'ollama' })).toBe(true);
  expect(heard).toEqual([{ seq: 2, job: id, hop: 0, type: 'done', model: 'gemma3:4b', provider: 'ollama', usage, result }]);
});

it('reads the end from the stream when the finish that handed it over lost its answer and ran again', async () => {
  const { keys, redis, records, id, heard } = await waitingJob();
  // The finish ran in Redis (handing over to this process's hub) but its answer never came back:
  // run as JobRecords would, by hand, so nothing is handed over.
  const first = { message: { role: 'assistant', content: 'first run' } };
  const event = `{"type":"done","hop":0,"model":"gemma3:4b","provider":"ollama","usage":${JSON.stringify(usage)},"result":`;
  const handedOver = (await redis.eval(
    FINISH,
    2,
    keys.jobRecord(id),
    keys.jobEvents(id),
    keys.jobChannel(id),
    0,
    Date.now(),
    'succeeded',
    3600,
    event,
    '',
    hub!.channel,
    'result',
    JSON.stringify(first),
    'usage',
    JSON.stringify(usage),
  )) as string[];
  expect(handedOver.at(-1)).toBe('2');
  expect(heard).toEqual([]);
  // ioredis sends it again on the new connection: the job is finished, so nothing is finished now.
  expect(await records.succeed(id, 0, { result: { message: { role: 'assistant', content: 'second run' } }, usage, model: 'gemma3:4b', provider: 'ollama' })).toBe(false);
  await expect.poll(() => heard.find((e) => e.type === 'done')).toMatchObject({ seq: 2, result: first });
});

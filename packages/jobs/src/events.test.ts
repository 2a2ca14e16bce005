import { afterEach, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis, testRedisUrl } from '@mana/testing';
import { JobEventHub, type JobEvent } from './events.js';
import { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { JobRecords } from './record.js';

const connections: RedisClient[] = [];
let prefix = '';
afterEach(async () => {
  for (const c of connections.splice(0)) c.disconnect();
  await deletePrefix(prefix);
});

function connect(): RedisClient {
  const redis = testRedis();
  connections.push(redis);
  return redis;
}

/**
 * Two API processes' hubs on one prefix (one accepts jobs, the other follows them), and a
 * raw subscriber that records the types of the events published on `channel`.
 */
async function twoProcesses(channel: (keys: Keys, accepting: JobEventHub) => string) {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  const redis = connect();
  const records = new JobRecords(redis, keys, 60);
  const [acceptingSub, followingSub, rawSub] = [0, 1, 2].map(() => {
    const c = new Redis(testRedisUrl());
    connections.push(c);
    return c;
  });
  const accepting = await JobEventHub.start(acceptingSub!, redis, keys, 'api-a');
  const following = await JobEventHub.start(followingSub!, redis, keys, 'api-b');
  const published: string[] = [];
  rawSub!.on('message', (_channel: string, message: string) => published.push((JSON.parse(message) as JobEvent).type));
  await rawSub!.subscribe(channel(keys, accepting));
  return { keys, redis, records, accepting, following, published };
}

it('delivers, after the subscriber reconnects, the events published while it was away — each once, in order', async () => {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  const redis = connect();
  // One server's connection even on a Redis Cluster (pub/sub reaches every node), so that
  // dropping it really drops the subscription, as a network cut would.
  const subscriber = new Redis(testRedisUrl());
  connections.push(subscriber);
  const records = new JobRecords(redis, keys, 60);
  const hub = await JobEventHub.start(subscriber, redis, keys, 'test-api');
  const seen: JobEvent[] = [];
  hub.listen('job_a', (event) => seen.push(event));
  const target = { provider: 'ollama' as const, model: 'gemma3:4b', id: 'ollama/gemma3:4b' };
  await records.create({ id: 'job_a', kind: 'chat', priority: 'interactive', maxWaitMs: null, requested: 'x', alias: null, chain: [target], replyTo: hub.channel });
  await expect.poll(() => seen.length).toBe(1);

  // The subscriber goes away; the job runs to its end meanwhile.
  const gone = new Promise((resolve) => subscriber.once('end', resolve));
  subscriber.disconnect(false);
  await gone;
  await records.startHop('job_a', 0, 'ollama:gpu0', target.id);
  await records.delta('job_a', 0, 'hello ');
  await records.delta('job_a', 0, 'world');
  await records.succeed('job_a', 0, {
    result: { content: 'hello world', finishReason: 'stop' },
    usage: { promptTokens: 1, completionTokens: 2 },
    model: 'gemma3:4b',
    provider: 'ollama',
  });
  expect(seen).toHaveLength(1);

  await subscriber.connect();
  await expect.poll(() => seen.map((e) => e.type)).toEqual(['queued', 'started', 'delta', 'delta', 'done']);
  expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
});

it("publishes on a job's own channel only once someone follows it, and the follower misses nothing from before", async () => {
  // A second process follows a job the first accepted (the reply channel is the first's).
  const { records, accepting, following, published: onChannel } = await twoProcesses((keys) => keys.jobChannel('job_w'));
  const target = { provider: 'ollama' as const, model: 'gemma3:4b', id: 'ollama/gemma3:4b' };
  await records.create({ id: 'job_w', kind: 'chat', priority: 'interactive', maxWaitMs: null, requested: 'x', alias: null, chain: [target], replyTo: accepting.channel });
  await records.startHop('job_w', 0, 'ollama:gpu0', target.id);

  const seen: JobEvent[] = [];
  await following.follow('job_w', (event) => seen.push(event));
  await records.delta('job_w', 0, 'hi');
  await expect.poll(() => seen.map((e) => e.type)).toEqual(['queued', 'started', 'delta']);
  // Pub/sub keeps order: had 'queued' or 'started' been published on the job's channel, they would have come first.
  await expect.poll(() => onChannel).toEqual(['delta']);
});

it('sends a job read whole only its end on the reply channel, keeps every event in its stream, and a follower still gets them all', async () => {
  const { keys, redis, records, accepting, following, published: onReply } = await twoProcesses((_keys, hub) => hub.channel);
  const heard: JobEvent[] = [];
  accepting.listen('job_e', (event) => heard.push(event), { endsOnly: true });
  const target = { provider: 'ollama' as const, model: 'gemma3:4b', id: 'ollama/gemma3:4b' };
  const job = { id: 'job_e', kind: 'chat' as const, priority: 'interactive' as const, maxWaitMs: null, requested: 'x', alias: null, chain: [target] };
  await records.create({ ...job, replyTo: accepting.channel, replyEndsOnly: true });
  await records.startHop('job_e', 0, 'ollama:gpu0', target.id);
  const watcher: JobEvent[] = [];
  await following.follow('job_e', (event) => watcher.push(event));
  await records.succeed('job_e', 0, { result: { content: 'ok', finishReason: 'stop' }, usage: { promptTokens: 1, completionTokens: 1 }, model: 'gemma3:4b', provider: 'ollama' });

  // The accepting process hears the end at once, without reading the stream for the seqs it skipped.
  await expect.poll(() => heard.map((e) => [e.type, e.seq])).toEqual([['done', 3]]);
  expect(heard[0]).toMatchObject({ type: 'done', result: { content: 'ok' } });
  await expect.poll(() => watcher.map((e) => e.type)).toEqual(['queued', 'started', 'done']);
  expect(onReply).toEqual(['done']);
  expect((await redis.xrange(keys.jobEvents('job_e'), '-', '+')).length).toBe(3);

  // A job not read whole (streamed) still gets every event on the reply channel.
  const streamed: JobEvent[] = [];
  accepting.listen('job_s', (event) => streamed.push(event));
  await records.create({ ...job, id: 'job_s', replyTo: accepting.channel });
  await records.startHop('job_s', 0, 'ollama:gpu0', target.id);
  await expect.poll(() => streamed.map((e) => e.type)).toEqual(['queued', 'started']);
});

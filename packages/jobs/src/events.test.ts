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

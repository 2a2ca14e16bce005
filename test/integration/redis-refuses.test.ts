import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { type LocalRedis, startLocalRedis } from '@mana/local-redis';
import { type Stack, startStack } from '@mana/testing';

// A Redis of this file's own: it is made to refuse writes and to forget its scripts.
let redis: LocalRedis;
let stack: Stack;
let admin: Redis;
beforeAll(async () => {
  redis = await startLocalRedis();
  stack = await startStack({ gpus: 1, redisUrl: redis.url });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin?.disconnect();
  await stack?.close();
  redis?.stop();
});

const chat = () =>
  fetch(`${stack.api.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: 'are you there' }] }),
  });

describe('a Redis that refuses', () => {
  it('writes, for its memory limit: the client is told so (503, Retry-After), and nothing of the job is left', async () => {
    expect((await chat()).status).toBe(200);
    const before = (await stack.jobs()).length;
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    let res: Response;
    try {
      res = await chat();
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/out of memory \(maxmemory\)/);
    expect((await stack.jobs()).length).toBe(before);
    const counts = await stack.pipeline.queues.local('gemma3:4b').getJobCounts('waiting', 'prioritized', 'active');
    expect(counts).toEqual({ waiting: 0, prioritized: 0, active: 0 });
    expect((await chat()).status).toBe(200);
  });

  it('a script it has forgotten (SCRIPT FLUSH): the next chat is answered all the same, its record whole', async () => {
    expect((await chat()).status).toBe(200);
    await admin.script('FLUSH');
    const res = await chat();
    expect(res.status).toBe(200);
    const id = res.headers.get('x-mana-job-id')!;
    const record = (await stack.jobs()).find((j) => j.id === id);
    expect(record).toMatchObject({ status: 'succeeded', hop: 0 });
  });
});

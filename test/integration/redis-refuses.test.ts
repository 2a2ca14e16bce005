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

/** Commands Redis has refused for its memory limit, from its error counts (INFO errorstats). */
async function refusedForMemory(): Promise<number> {
  const match = /errorstat_OOM:count=(\d+)/.exec(await admin.info('errorstats'));
  return match ? Number(match[1]) : 0;
}

describe('a Redis that fills up while a GPU is answering', () => {
  it('keeps the answer until Redis has room again: written once, not rerouted to a paid provider', async () => {
    stack.gemini.reset();
    stack.gpus[0]!.reset();
    stack.gpus[0]!.faults.add({ mode: 'slow', delayMs: 800, times: 1 });
    const asked = fetch(`${stack.api.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'hold on to this' }] }),
    });
    // The hop is on the GPU, and marked running in its record, when Redis fills up.
    await expect.poll(async () => (await stack.jobs()).some((j) => j.status === 'running'), { interval: 10 }).toBe(true);
    const refusedBefore = await refusedForMemory();
    await admin.config('SET', 'maxmemory', '1');
    try {
      // The GPU answers meanwhile, and its answer's write is refused, more than once.
      await expect.poll(() => stack.gpus[0]!.stats.snapshot().inFlight, { interval: 10, timeout: 5_000 }).toBe(0);
      await expect.poll(refusedForMemory, { interval: 20, timeout: 5_000 }).toBeGreaterThan(refusedBefore + 1);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    const res = await asked;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mana-provider')).toBe('ollama');
    expect(res.headers.get('x-mana-hops')).toBe('1');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
    // Generated once: the answer was held, not the job run again once Redis took writes.
    expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(1);
    const id = res.headers.get('x-mana-job-id')!;
    expect((await stack.jobs()).find((j) => j.id === id)).toMatchObject({ status: 'succeeded', hop: 0 });
  });
});

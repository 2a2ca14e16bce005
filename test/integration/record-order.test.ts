import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '@mana/local-redis';
import { type Stack, startStack } from '@mana/testing';
import { hopJobId } from '@mana/jobs';

// A Redis of this file's own: it is watched with MONITOR and made to refuse writes.
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
    body: JSON.stringify({ model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: 'in order' }] }),
  });

describe("a sync chat's record and its hop 0", () => {
  it('go out on one connection, the record first, so the add need not wait for it', async () => {
    // MONITOR off a plain socket: one line per command, `+time [db source] "command" "arg" ...`.
    const url = new URL(redis.url);
    const monitor = createConnection({ host: url.hostname, port: Number(url.port) });
    await once(monitor, 'connect');
    let text = '';
    monitor.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    monitor.write('MONITOR\r\n');
    const lines = () => text.split('\r\n');
    try {
      await chat(); // the queue's scripts are loaded, its connection made
      const res = await chat();
      expect(res.status).toBe(200);
      const id = res.headers.get('x-mana-job-id')!;
      const record = stack.keys.jobRecord(id);
      const fromClient = (l: string) => /^\+[\d.]+ \[\d+ \d/.test(l);
      let seen: string[] = [];
      // The first command a client sends naming hop 0 (BullMQ packs its id into the add's arguments) is its add.
      const addOf = (all: string[]) => all.findIndex((l) => fromClient(l) && l.includes(hopJobId(id, 0)));
      await expect.poll(() => addOf((seen = lines())), { timeout: 5_000 }).toBeGreaterThanOrEqual(0);
      const added = addOf(seen);
      expect(seen[added]).toContain(':prioritized');
      const created = seen.findIndex((l) => fromClient(l) && l.includes('"eval"') && l.includes(`"${record}"`));
      expect(created).toBeGreaterThanOrEqual(0);
      expect(added).toBeGreaterThan(created);
      const source = (i: number) => /\[\d+ ([^\]]+)\]/.exec(seen[i]!)?.[1];
      expect(source(created)).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(source(added)).toBe(source(created));
    } finally {
      monitor.destroy();
    }
  });

  it('are neither written when Redis refuses writes: the client is told, and nothing is left queued', async () => {
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
    expect(body.error.message).toMatch(/out of memory/);
    expect((await stack.jobs()).length).toBe(before);
    const counts = await stack.pipeline.queues.local('gemma3:4b').getJobCounts('waiting', 'prioritized', 'active');
    expect(counts).toEqual({ waiting: 0, prioritized: 0, active: 0 });
    expect((await chat()).status).toBe(200);
  });
});

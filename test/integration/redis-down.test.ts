import { expect, it } from 'vitest';
import { startLocalRedis } from '@mana/local-redis';
import { startStack } from '@mana/testing';

const CLOSE_BOUND_MS = 5_000;

it('answers 503 with Retry-After (never a 500 or a hang) while Redis is down, and /ready says why', async () => {
  const redis = await startLocalRedis();
  const stack = await startStack({ gpus: 1, redisUrl: redis.url, env: { MANA_SHUTDOWN_GRACE_MS: '0' } });
  try {
    const ok = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'before' }] }),
    });
    expect(ok.status).toBe(200);
    redis.stop();
    await expect.poll(async () => (await fetch(`${stack.api.url}/ready`)).status, { timeout: 10_000 }).toBe(503);
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'during' }] }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
    // A readiness probe with a load balancer's 1.5 s timeout gets its 503 every time, however
    // long the outage has lasted (ioredis's reconnect backoff grows meanwhile).
    const probes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const probe = await fetch(`${stack.api.url}/ready`, { signal: AbortSignal.timeout(1_500) });
      probes.push(probe.status);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(probes).toEqual(Array(12).fill(503));
  } finally {
    // Closing against a dead Redis cannot flush anything; bound it rather than wait on retries.
    await Promise.race([stack.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_BOUND_MS))]);
  }
});

import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Redis } from 'ioredis';

/** The Redis the test run uses (see test/setup/redis.ts). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix of this test's own, so runs and tests never collide. */
export function testPrefix(): string {
  return `mana-test:${randomUUID().slice(0, 12)}`;
}

/** Deletes every key under a prefix (SCAN, not KEYS: the server may be shared). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

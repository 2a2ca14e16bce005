import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { type RedisTarget, loadConfig } from '@mana/config';
import { type RedisClient, createRedis, keyServers } from '@mana/jobs';

/** The Redis the test run uses (see test/setup/redis.ts): one server's URL, or a cluster's first seed. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** True when the run is against a Redis Cluster (`npm run test:cluster`). */
export function onRedisCluster(): boolean {
  return inject('redisClusterNodes') !== '';
}

/** The variables that point a gateway process at the run's Redis, one server or a cluster. */
export function testRedisEnv(): Record<string, string> {
  const nodes = inject('redisClusterNodes');
  return { REDIS_URL: testRedisUrl(), ...(nodes ? { REDIS_CLUSTER_NODES: nodes } : {}) };
}

export function testRedisTarget(): RedisTarget {
  return loadConfig(testRedisEnv()).redis.target;
}

/** A connection to the run's Redis, whichever kind it is. */
export function testRedis(name = 'mana-test'): RedisClient {
  return createRedis(testRedisTarget(), { name });
}

/** A key prefix of this test's own, so runs and tests never collide. */
export function testPrefix(): string {
  return `mana-test:${randomUUID().slice(0, 12)}`;
}

/** Every key under a prefix, on every server that holds keys (SCAN, not KEYS: the server may be shared). */
export async function scanPrefix(redis: RedisClient, pattern: string, each: (server: number, keys: string[]) => Promise<void>): Promise<void> {
  const servers = await keyServers(redis);
  for (const [index, server] of servers.entries()) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await each(index, keys);
    } while (cursor !== '0');
  }
}

/** Deletes every key under a prefix. */
export async function deletePrefix(prefix: string, target: RedisTarget = testRedisTarget()): Promise<void> {
  const redis = createRedis(target, { name: 'mana-test-cleanup' });
  try {
    // One DEL per key: on a cluster, keys found on one node may still span slots.
    await scanPrefix(redis, `${prefix}:*`, async (_server, keys) => void (await Promise.all(keys.map((key) => redis.del(key)))));
  } finally {
    redis.disconnect();
  }
}

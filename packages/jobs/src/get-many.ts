import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/**
 * The values of many keys (null where absent), in as few commands as the
 * server allows: one MGET on a single Redis; on a Cluster, where one MGET
 * across slots is refused (CROSSSLOT), one per hash tag (keys that share a
 * `{tag}` share a slot), issued together.
 */
export async function getMany(redis: RedisClient, keys: readonly string[]): Promise<Array<string | null>> {
  if (keys.length === 0) return [];
  if (!(redis instanceof Cluster)) return redis.mget(...keys);
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const tag = /\{([^}]+)\}/.exec(key)?.[1];
    const group = tag === undefined ? `\u0000${key}` : tag;
    const at = groups.get(group);
    if (at) at.push(i);
    else groups.set(group, [i]);
  });
  const values = new Array<string | null>(keys.length).fill(null);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const got = await redis.mget(...indexes.map((i) => keys[i]!));
      indexes.forEach((i, j) => (values[i] = got[j] ?? null));
    }),
  );
  return values;
}

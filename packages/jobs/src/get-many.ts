import type { RedisClient } from './redis.js';

/**
 * GETs of keys that may live on different Redis Cluster slots. One MGET
 * would be refused there (CROSSSLOT); separate GETs issued together go out
 * in one write anyway (auto-pipelining), so a single Redis pays nothing more.
 */
export function getMany(redis: RedisClient, keys: readonly string[]): Promise<Array<string | null>> {
  return Promise.all(keys.map((key) => redis.get(key)));
}

import { ConfigError } from '@mana/errors';
import { type RedisClient, keyServers } from './redis.js';

export type EvictionCheck = { ok: true } | { ok: false; unknown: true; reason: string };

/**
 * BullMQ and Mana keep queued work, job records and batch files in Redis. A
 * Redis that evicts keys under memory pressure drops them silently: jobs
 * lost, records gone, batches that never complete. With a memory limit set,
 * only `noeviction` is safe (writes then fail loudly instead); without one
 * nothing is evicted. Throws a ConfigError naming the server and the fix; a
 * managed Redis that hides CONFIG is reported as unknown, for a warning.
 */
export async function checkEvictionPolicy(redis: RedisClient): Promise<EvictionCheck> {
  for (const server of await keyServers(redis)) {
    let maxmemory: number;
    let policy: string;
    try {
      const [memory, evict] = await Promise.all([server.config('GET', 'maxmemory'), server.config('GET', 'maxmemory-policy')]);
      maxmemory = Number((memory as string[])[1] ?? 0);
      policy = String((evict as string[])[1] ?? '');
    } catch (err) {
      return { ok: false, unknown: true, reason: `could not read Redis's maxmemory-policy (${(err as Error).message}); make sure it is noeviction` };
    }
    if (maxmemory > 0 && policy !== 'noeviction') {
      const where = `${server.options.host ?? '?'}:${server.options.port ?? '?'}`;
      throw new ConfigError(
        [
          {
            key: 'REDIS_URL',
            message: `Redis at ${where} has maxmemory ${maxmemory} with maxmemory-policy ${policy}: it would evict queued jobs and records under memory pressure. Set maxmemory-policy noeviction (redis.conf, or CONFIG SET maxmemory-policy noeviction), or remove the memory limit`,
          },
        ],
        'unsafe Redis configuration',
      );
    }
  }
  return { ok: true };
}

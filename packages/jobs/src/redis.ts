import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection. BullMQ's blocking connections need
 * `maxRetriesPerRequest: null` (they wait forever by design); ordinary
 * commands keep a bound so a dead Redis surfaces as an error, not a hang.
 */
export function createRedis(url: string, options: { blocking?: boolean; name?: string; onError?: (err: Error) => void } = {}): Redis {
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.name,
    // Commands issued in the same tick go out in one write: far fewer syscalls under load.
    enableAutoPipelining: !options.blocking,
    // Reconnect with a capped backoff: a Redis restart costs seconds, not the process.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  };
  const redis = new Redis(url, redisOptions);
  // ioredis retries on its own; say so once per kind of failure, not once per retry.
  const report = options.onError ?? ((err: Error) => console.error(`redis (${options.name ?? 'mana'}): ${err.message}; reconnecting`));
  let last = { message: '', at: 0 };
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (err.message === last.message && now - last.at < 30_000) return;
    last = { message: err.message, at: now };
    report(err);
  });
  return redis;
}

export type { Redis };

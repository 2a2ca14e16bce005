import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '@mana/config';

/**
 * One Redis server or a Redis Cluster: every command Mana sends works on
 * both (one slot per script or MULTI, see Keys), so the rest of the code
 * takes either.
 */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** BullMQ's blocking connections wait forever by design. */
  blocking?: boolean;
  /**
   * A connection for SUBSCRIBE only. Without ioredis's ready check: it sends
   * INFO after connecting, and a SUBSCRIBE issued meanwhile (Redis lets it run
   * while loading, so ioredis writes it at once) puts the connection in
   * subscriber mode first, where INFO fails and the error escapes.
   */
  subscriber?: boolean;
  /**
   * Commands wait for Redis to come back instead of failing after a few
   * reconnect attempts: for worker processes, whose writes (a hop's result,
   * its streamed deltas, in order) must land, not fail the job. The API
   * keeps the bound and answers 503 instead. @defaultValue false
   */
  waitThroughOutages?: boolean;
  name?: string;
  onError?: (err: Error) => void;
}

/**
 * A connection to wherever config says Redis is. Ordinary commands keep a
 * retry bound so a dead Redis surfaces as an error, not a hang.
 */
export function createRedis(resolved: RedisTarget, options: RedisConnectionOptions = {}): RedisClient {
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: options.blocking || options.waitThroughOutages ? null : 3,
    enableReadyCheck: !options.subscriber,
    connectionName: options.name,
    // Reconnect with a capped backoff: a Redis restart costs seconds, not the process.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  };
  // No auto-pipelining: ioredis builds a Pipeline per tick for it and copies every defined
  // script onto each one, which cost more CPU than the writes it saves: gateway CPU per sync
  // chat at 50 in flight fell ~9 % without it (same-run A/B, issue 15's note).
  const redis =
    resolved.kind === 'single'
      ? new Redis(resolved.url, { ...redisOptions, enableAutoPipelining: false })
      : new Cluster([...resolved.nodes], {
          // Off on a cluster: ioredis's cluster auto-pipelining groups by a command's first
          // argument (for EVAL, the script) and, seen here, can hand back fewer replies than
          // commands ("results[i] is not iterable": redis/ioredis#1931, #2109).
          enableAutoPipelining: false,
          enableReadyCheck: !options.subscriber,
          clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
          redisOptions: {
            ...redisOptions,
            ...(resolved.username ? { username: resolved.username } : {}),
            ...(resolved.password ? { password: resolved.password } : {}),
            ...(resolved.tls ? { tls: {} } : {}),
          },
        });
  reportErrors(redis, options);
  return redis;
}

/** ioredis retries on its own; say so once per kind of failure, not once per retry. */
function reportErrors(redis: RedisClient, options: RedisConnectionOptions): void {
  const report = options.onError ?? ((err: Error) => console.error(`redis (${options.name ?? 'mana'}): ${err.message}; reconnecting`));
  let last = { message: '', at: 0 };
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (err.message === last.message && now - last.at < 30_000) return;
    last = { message: err.message, at: now };
    report(err);
  });
}

/**
 * A second connection like `redis`, for BullMQ's queues. BullMQ defines its
 * ~60 scripts on whatever connection it is given, and ioredis copies every
 * defined script onto each pipeline or MULTI made on it (ours included: the
 * rate limit's, a batch's, a file's), so BullMQ's are kept off our connection.
 */
export function bullmqConnection(redis: RedisClient, name: string): RedisClient {
  const connection = redis instanceof Cluster ? redis.duplicate([], { enableAutoPipelining: false }) : redis.duplicate({ enableAutoPipelining: false, connectionName: name });
  reportErrors(connection, { name });
  return connection;
}

/**
 * The servers that hold keys: the one server, or every cluster master. For
 * commands that only see one server's keys (SCAN, INFO). A cluster client
 * knows its masters only once it has read the slot map, so this waits for it.
 */
export async function keyServers(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis.nodes('master');
}

export type { Redis };

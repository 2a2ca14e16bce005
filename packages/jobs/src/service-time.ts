import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';

/**
 * A moving average of how long one Ollama hop takes, kept per process and
 * written to Redis at most once a second, so dispatch can estimate waits
 * without a Redis write per job.
 */
export class ServiceTimeTracker {
  private average: number | undefined;
  private lastFlush = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  record(ms: number, now = Date.now()): void {
    this.average = this.average === undefined ? ms : this.average * 0.8 + ms * 0.2;
    if (now - this.lastFlush >= 1_000) {
      this.lastFlush = now;
      void this.redis.set(this.keys.serviceTimes(), String(Math.round(this.average)), 'EX', 600).catch(() => {});
    }
  }
}

export async function readServiceTimeMs(redis: RedisClient, keys: Keys): Promise<number | undefined> {
  const raw = await redis.get(keys.serviceTimes());
  return raw === null ? undefined : Number(raw);
}

import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';

/** Measured times are kept this long without a new measurement. */
const KEEP_S = 600;

/**
 * Moving averages of how long one local hop takes, per model (an embedding
 * takes tens of ms, a 12B chat answer seconds), and of how long each model
 * took to load. Kept per process and written to Redis at most once a second
 * per model, so dispatch can estimate waits without a write per job.
 */
export class ServiceTimeTracker {
  private readonly averages = new Map<string, { ms: number; flushedAt: number }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  record(model: string, ms: number, now = Date.now()): void {
    const last = this.averages.get(model);
    const average = last === undefined ? ms : last.ms * 0.8 + ms * 0.2;
    const flush = last === undefined || now - last.flushedAt >= 1_000;
    this.averages.set(model, { ms: average, flushedAt: flush ? now : last.flushedAt });
    if (flush) void this.write(this.keys.serviceTimes(), model, average);
  }

  /** A load the server reported (Ollama's load_duration): the cost of switching to this model. */
  recordLoad(model: string, ms: number): void {
    void this.write(this.keys.loadTimes(), model, ms);
  }

  private async write(key: string, model: string, ms: number): Promise<void> {
    await this.redis.hset(key, model, String(Math.round(ms))).catch(() => {});
    await this.redis.expire(key, KEEP_S).catch(() => {});
  }
}

/** Measured service (or load) times by model, in ms. */
export async function readTimes(redis: RedisClient, key: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(key);
  return Object.fromEntries(Object.entries(raw).map(([model, ms]) => [model, Number(ms)]));
}

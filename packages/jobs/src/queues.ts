import { Queue, type Telemetry } from 'bullmq';
import type { RedisClient } from './redis.js';
import { PROVIDER_IDS, type ProviderId } from '@mana/config';
import type { Keys } from './keys.js';

/**
 * Finished hop jobs are kept for inspection in bull-board, but boundedly.
 * Given to the Workers rather than as default job options, which BullMQ
 * would copy into every job's hash (a queued batch item pays for each byte).
 * Provider failures are rerouted by us, never retried by BullMQ (its default
 * is one attempt); only crashes (stalls) rerun a hop.
 */
export const FINISHED_HOP_RETENTION = {
  // Count-bounded only: an age bound makes every completion scan for old jobs.
  removeOnComplete: { count: 2_000 },
  removeOnFail: { age: 24 * 3_600, count: 10_000 },
} as const;

/** One BullMQ queue per provider, created on first use and shared by everything in the process. */
export class Queues {
  private readonly queues = new Map<ProviderId, Queue>();

  constructor(
    private readonly connection: RedisClient,
    private readonly keys: Keys,
    private readonly telemetry?: Telemetry,
  ) {}

  get(provider: ProviderId): Queue {
    let queue = this.queues.get(provider);
    if (!queue) {
      queue = new Queue(this.keys.queueName(provider), {
        connection: this.connection,
        prefix: this.keys.prefix,
        ...(this.telemetry ? { telemetry: this.telemetry } : {}),
      });
      // Connection trouble is reported by the connection itself (createRedis); commands fail to their callers.
      queue.on('error', () => {});
      this.queues.set(provider, queue);
    }
    return queue;
  }

  all(): Queue[] {
    return PROVIDER_IDS.map((p) => this.get(p));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

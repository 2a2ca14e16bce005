import { Queue, type Telemetry } from 'bullmq';
import { type RedisClient, bullmqConnection } from './redis.js';
import { CLOUD_PROVIDER_IDS, LOCAL_PROVIDER, type ProviderId, isLocalProvider } from '@mana/config';
import type { Target } from '@mana/aliases';
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

/**
 * The BullMQ queues: one per cloud provider, and one per local model (a GPU
 * server pulls only from the queues of models it has). Created on first use
 * and shared by everything in the process.
 */
export class Queues {
  private readonly queues = new Map<string, Queue>();
  /** Local models this process has already registered in Redis. */
  private readonly registered = new Set<string>();
  /** BullMQ's own connection, made on first use (see bullmqConnection). */
  private bullmq?: RedisClient;

  constructor(
    private readonly connection: RedisClient,
    private readonly keys: Keys,
    private readonly telemetry?: Telemetry,
  ) {}

  /** A cloud provider's queue (or, for the local provider, the queue older versions shared by every GPU). */
  get(provider: ProviderId): Queue {
    return this.named(this.keys.queueName(provider));
  }

  /** The queue of one local model. */
  local(model: string): Queue {
    return this.named(this.keys.localQueueName(model));
  }

  /** Where a hop for this target waits. */
  forTarget(target: Target): Queue {
    return this.named(this.nameOf(target));
  }

  /** The queue for this target if this process has used it already (a name a client made up is not made a queue by asking). */
  used(target: Target): Queue | undefined {
    return this.queues.get(this.nameOf(target));
  }

  private nameOf(target: Target): string {
    return isLocalProvider(target.provider) ? this.keys.localQueueName(target.model) : this.keys.queueName(target.provider);
  }

  /** Records that a local model has a queue, once per process, so GPU servers that have it pull from it. */
  async registerLocal(model: string): Promise<void> {
    if (this.registered.has(model)) return;
    await this.connection.sadd(this.keys.localModels(), model);
    this.registered.add(model);
  }

  /** Every local model that has a queue. */
  async localModels(): Promise<string[]> {
    return (await this.connection.smembers(this.keys.localModels())).sort();
  }

  /** Every queue: the cloud providers' and each local model's. */
  async all(): Promise<Array<{ provider: ProviderId; model?: string; queue: Queue }>> {
    const local = (await this.localModels()).map((model) => ({ provider: LOCAL_PROVIDER, model, queue: this.local(model) }));
    return [...CLOUD_PROVIDER_IDS.map((provider) => ({ provider, queue: this.get(provider) })), ...local];
  }

  private named(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      this.bullmq ??= bullmqConnection(this.connection, 'mana-queues');
      queue = new Queue(name, {
        connection: this.bullmq,
        prefix: this.keys.prefix,
        ...(this.telemetry ? { telemetry: this.telemetry } : {}),
      });
      // Connection trouble is reported by the connection itself (createRedis); commands fail to their callers.
      queue.on('error', () => {});
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    // Not quit: closing must not wait on a Redis that is gone (the caller bounds its own wait).
    this.bullmq?.disconnect();
  }
}

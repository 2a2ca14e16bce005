import type { Telemetry } from 'bullmq';
import type { RedisClient } from './redis.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { SpillIndexWrites } from './spill-index.js';
import type { ProviderId } from '@mana/config';
import type { HealthCache } from './health.js';
import type { Keys } from './keys.js';
import type { Queues } from './queues.js';
import type { JobRecords } from './record.js';
import type { BatchLedger } from './batches.js';
import type { JobStats } from './job-stats.js';
import type { FileStore } from './files.js';
import type { Fleet, GpuSpec } from './fleet.js';
import type { FairShare } from './fair-share.js';
import type { PriceBook } from './price-book.js';

export interface PipelineOptions {
  autoFallbackEnabled: boolean;
  /** See RoutingPolicy.transientRetryMs (MANA_CLOUD_TRANSIENT_RETRY_MS). */
  transientRetryMs: number;
  /** The GPU servers' names (OLLAMA_HOSTS). */
  gpus: readonly string[];
  /** The GPU servers with their capacity and engine (OLLAMA_HOSTS, OLLAMA_MAX_CONCURRENT as the default slots). */
  fleet: readonly GpuSpec[];
  /** See Config.batchReconcileMs. */
  batchReconcileMs: number;
  /** Whether a cloud provider can be called at all (it has an API key). */
  isConfigured(provider: ProviderId): boolean;
}

/** One local model's queue as dispatch sees it: jobs waiting at each priority, jobs running. */
export interface LocalBacklog {
  waitingByPriority: Record<number, number>;
  active: number;
  /** Hops due later (a pinned job's retry). */
  delayed: number;
}

/** Short-lived, per-process copies of what every dispatch reads. */
export interface DispatchCache {
  fleet: SnapshotCache<Fleet>;
  backlog(model: string): SnapshotCache<LocalBacklog>;
  /** Measured service and load times by local model. */
  times: SnapshotCache<{ service: Record<string, number>; load: Record<string, number> }>;
  /** Forget everything about the fleet (a GPU just went down, or was drained). */
  clearFleet(): void;
}

/** Tracing as the pipeline uses it (see @mana/telemetry); a no-op when tracing is off. */
export interface PipelineTracing {
  /** For every BullMQ Queue and Worker, so a job carries its trace context from API to worker. */
  bullmq: Telemetry | undefined;
  span<T>(name: string, attributes: Record<string, string | number | boolean>, fn: () => Promise<T>): Promise<T>;
}

export const NO_TRACING: PipelineTracing = { bullmq: undefined, span: (_name, _attributes, fn) => fn() };

/** The shared parts every step of a job's life needs: RedisClient, keys, records, queues, health. */
export interface Pipeline {
  redis: RedisClient;
  keys: Keys;
  records: JobRecords;
  batches: BatchLedger;
  /** Cluster-wide job statistics for /metrics: durations, tokens, provider errors. */
  stats: JobStats;
  tracing: PipelineTracing;
  files: FileStore;
  queues: Queues;
  /** Tenants' shares of each queue's priority class. */
  fair: FairShare;
  /** Cloud prices, for each finished job's cost. */
  prices: PriceBook;
  health: HealthCache;
  options: PipelineOptions;
  cache: DispatchCache;
  /** The spill index's writes, gathered (see SpillIndexWrites); flushed on close. */
  spillIndex: SpillIndexWrites;
}

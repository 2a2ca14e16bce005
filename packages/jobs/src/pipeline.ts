import type { Redis } from 'ioredis';
import type { ProviderId } from '@mana/config';
import type { HealthCache } from './health.js';
import type { Keys } from './keys.js';
import type { Queues } from './queues.js';
import type { JobRecords } from './record.js';

export interface PipelineOptions {
  autoFallbackEnabled: boolean;
  /** The GPU servers' names (OLLAMA_HOSTS). */
  gpus: readonly string[];
  /** OLLAMA_MAX_CONCURRENT: slots each GPU's Worker runs. */
  slotsPerGpu: number;
  /** Whether a cloud provider can be called at all (it has an API key). */
  isConfigured(provider: ProviderId): boolean;
}

/** The shared parts every step of a job's life needs: Redis, keys, records, queues, health. */
export interface Pipeline {
  redis: Redis;
  keys: Keys;
  records: JobRecords;
  queues: Queues;
  health: HealthCache;
  options: PipelineOptions;
}

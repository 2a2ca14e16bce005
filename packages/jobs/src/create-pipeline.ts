import type { Config, ProviderId } from '@mana/config';
import { HealthCache } from './health.js';
import { Keys } from './keys.js';
import type { Pipeline } from './pipeline.js';
import { Queues } from './queues.js';
import { JobRecords } from './record.js';
import type { Redis } from './redis.js';

/** The pipeline for a configuration, over one command connection. */
export function createPipeline(config: Readonly<Config>, redis: Redis): Pipeline {
  const keys = new Keys(config.redis.prefix);
  const isConfigured = (provider: ProviderId): boolean => {
    if (provider === 'ollama') return true;
    if (provider === 'google') return Boolean(config.google.apiKey);
    return Boolean(config.openaiCompatible[provider].apiKey);
  };
  return {
    redis,
    keys,
    records: new JobRecords(redis, keys, config.jobRetentionS),
    queues: new Queues(redis, keys),
    health: new HealthCache(redis, keys, { ttlMs: Math.max(5_000, config.healthIntervalMs * 2.5) }),
    options: {
      autoFallbackEnabled: config.autoFallbackEnabled,
      gpus: config.ollama.hosts.map((h) => h.name),
      slotsPerGpu: config.ollama.maxConcurrent,
      isConfigured,
    },
  };
}

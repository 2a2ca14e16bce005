import { type Config, type ProviderId, forTenant, isLocalProvider } from '@mana/config';
import { FairShare } from './fair-share.js';
import { PriceBook } from './price-book.js';
import { HealthCache } from './health.js';
import { Keys } from './keys.js';
import { NO_TRACING, type Pipeline, type PipelineTracing } from './pipeline.js';
import { Queues } from './queues.js';
import { SnapshotCache } from './snapshot-cache.js';
import { SpillIndexWrites } from './spill-index.js';
import { loadLocalBacklog, loadTimes } from './overflow.js';
import { type GpuSpec, loadFleet } from './fleet.js';
import type { LocalBacklog } from './pipeline.js';
import { JobRecords } from './record.js';
import { BatchLedger } from './batches.js';
import { FileStore } from './files.js';
import { JobStats } from './job-stats.js';
import { releaseTenantJob } from './tenant-limit.js';
import type { RedisClient } from './redis.js';

/** How stale a dispatch decision's view of GPU health and backlog may be. */
const DISPATCH_CACHE_MS = 50;

/** The pipeline for a configuration, over one command connection. */
export function createPipeline(config: Readonly<Config>, redis: RedisClient, tracing: PipelineTracing = NO_TRACING): Pipeline {
  const keys = new Keys(config.redis.prefix);
  const isConfigured = (provider: ProviderId): boolean => {
    if (isLocalProvider(provider)) return true;
    if (provider === 'google') return Boolean(config.google.apiKey);
    return Boolean(config.openaiCompatible[provider].apiKey);
  };
  const queues = new Queues(redis, keys, tracing.bullmq);
  const health = new HealthCache(redis, keys, { ttlMs: Math.max(5_000, config.healthIntervalMs * 2.5) });
  const fleet: GpuSpec[] = config.ollama.hosts.map((h) => ({ name: h.name, slots: h.slots ?? config.ollama.maxConcurrent, engine: h.engine ?? 'ollama', loadMs: h.loadMs }));
  const options = {
    autoFallbackEnabled: config.autoFallbackEnabled,
    transientRetryMs: config.timeouts.cloudTransientRetryMs,
    gpus: fleet.map((g) => g.name),
    fleet,
    batchReconcileMs: config.batchReconcileMs,
    isConfigured,
  };
  // Records tell the ledger when a batch item finishes; the ledger reads records back.
  const late: { ledger?: BatchLedger } = {};
  const stats = new JobStats(redis, keys);
  const records = new JobRecords(redis, keys, config.jobRetentionS, async (jobId, finished) => {
    // Metrics never fail nor hold up a job's accounting: not awaited, so a GPU's next job is
    // not a round trip later.
    void stats.observe(finished).catch(() => {});
    if (finished.batch) await late.ledger!.itemFinished(finished.batch, jobId);
    else if (finished.countedInTenantLimit) await releaseTenantJob({ redis, keys }, finished.tenant, jobId);
  });
  const prices = new PriceBook(config.pricesPath);
  prices.reload();
  const ledger = (late.ledger = new BatchLedger(redis, keys, config.jobRetentionS, () => records));
  return {
    redis,
    keys,
    records,
    batches: ledger,
    stats,
    tracing,
    files: new FileStore(redis, keys, config.jobRetentionS),
    queues,
    prices,
    fair: new FairShare(redis, keys, (tenant) => forTenant(config.tenants.weights, tenant, 1)),
    health,
    options,
    cache: dispatchCache({ health, options, queues, redis, keys }),
    spillIndex: new SpillIndexWrites(redis, keys.spillIndex()),
  };
}

function dispatchCache(deps: { health: HealthCache; options: Pipeline['options']; queues: Queues; redis: RedisClient; keys: Keys }): Pipeline['cache'] {
  const backlogs = new Map<string, SnapshotCache<LocalBacklog>>();
  // Up to 4× as old while a fresh one is read: answered without a round trip (see SnapshotCache).
  const fleet = new SnapshotCache(DISPATCH_CACHE_MS, () => loadFleet(deps, deps.options.fleet), DISPATCH_CACHE_MS * 4);
  return {
    fleet,
    backlog(model) {
      let cache = backlogs.get(model);
      // Read stale too (see estimateLocalWaitMs): a backlog is only ever an estimate.
      if (!cache) backlogs.set(model, (cache = new SnapshotCache(DISPATCH_CACHE_MS, () => loadLocalBacklog(deps, model), DISPATCH_CACHE_MS * 4)));
      return cache;
    },
    // Measured times change slowly (each is a moving average written once a second at most).
    times: new SnapshotCache(1_000, () => loadTimes(deps), 5_000),
    clearFleet() {
      fleet.clear();
    },
  };
}

import { Worker } from 'bullmq';
import type { ProviderError } from '@mana/errors';
import { FINISHED_HOP_RETENTION, type Pipeline, type RedisClient } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { CloudProviderId } from '@mana/config';
import type { ProviderAdapter } from '@mana/providers';
import { createHopProcessor } from './run-hop.js';
import { rerouteStalledOut } from './stalled-out.js';
import type { RunningJobs } from './running-jobs.js';

export interface CloudWorkerOptions {
  provider: CloudProviderId;
  adapter: ProviderAdapter;
  pipeline: Pipeline;
  connect: () => RedisClient;
  running: RunningJobs;
  log: Logger;
  concurrency: number;
  timeoutMs: number;
  /** For streamed hops: the first-token and idle deadlines. */
  stream: { firstTokenMs: number; idleMs: number };
  stalledIntervalMs: number;
}

/**
 * The Worker for one cloud provider's queue. Real traffic feeds the
 * provider's circuit breaker and, on a 429, its throttle: while it lasts,
 * dispatch sends jobs that can move to their next target; the throttled hop
 * itself is tried again after the wait asked, a bounded number of times
 * (see decide), rather than pausing the whole queue.
 */
export function createCloudWorker(options: CloudWorkerOptions): Worker {
  const { provider, pipeline, log } = options;
  const processor = createHopProcessor({
    pipeline,
    adapter: options.adapter,
    endpoint: provider,
    timeoutMs: options.timeoutMs,
    stream: options.stream,
    running: options.running,
    log,
    onSuccess: () => void pipeline.health.recordSuccess(provider).catch(() => {}),
    onProviderError: (err: ProviderError) => pipeline.health.recordFailure(provider, err),
  });
  const worker: Worker = new Worker(pipeline.keys.queueName(provider), (job) => processor(job), {
    connection: options.connect(),
    prefix: pipeline.keys.prefix,
    concurrency: options.concurrency,
    name: provider,
    stalledInterval: options.stalledIntervalMs,
    lockDuration: options.stalledIntervalMs * 2,
    maxStalledCount: 2,
    ...FINISHED_HOP_RETENTION,
    ...(pipeline.tracing.bullmq ? { telemetry: pipeline.tracing.bullmq } : {}),
  });
  worker.on('error', (err) => log.error({ provider, err }, 'cloud worker error'));
  worker.on('failed', rerouteStalledOut(pipeline, log));
  return worker;
}

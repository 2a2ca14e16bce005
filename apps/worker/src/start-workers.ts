import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { CLOUD_PROVIDER_IDS, type CloudProviderId, type Config, forTenant } from '@mana/config';
import { KeyRotation } from './key-rotation.js';
import { checkEvictionPolicy, createPipeline, createRedis, moveSharedQueue } from '@mana/jobs';
import { startTracing } from '@mana/telemetry';
import type { Logger } from '@mana/logging';
import { createProviders } from '@mana/providers';
import { createCloudWorker } from './cloud-worker.js';
import { GpuWorker } from './gpu-worker.js';
import { startHealthProbes } from './health-probe.js';
import { LocalWorkSignal } from './local-work-signal.js';
import { RunningJobs } from './running-jobs.js';
import { startSpillLoop } from './spill-loop.js';

export interface WorkerProcess {
  gpuWorkers: readonly GpuWorker[];
  /** Stops taking jobs, lets in-flight ones finish within the grace period, then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Beyond the grace period, how long closing may wait on Redis before dropping the connections. */
const CLOSE_SLACK_MS = 5_000;

/** Everything a worker process runs: one Worker per GPU, one per cloud queue, probes and the spill loop. */
export async function startWorkers(config: Readonly<Config>, log: Logger): Promise<WorkerProcess> {
  // A worker's writes wait for Redis through an outage: a hop the GPU answered must be recorded, not failed.
  const connections = [createRedis(config.redis.target, { name: 'mana-worker', waitThroughOutages: true })];
  const connect = () => {
    const connection = createRedis(config.redis.target, { blocking: true, name: 'mana-worker-bullmq' });
    connections.push(connection);
    return connection;
  };
  const redis = connections[0]!;
  const subscriber = createRedis(config.redis.target, { name: 'mana-worker-subscriber', waitThroughOutages: true, subscriber: true });
  connections.push(subscriber);
  const tracing = startTracing({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName ?? 'mana-worker' });
  const pipeline = createPipeline(config, redis, tracing);
  const eviction = await checkEvictionPolicy(redis);
  if (!eviction.ok) log.warn({ reason: eviction.reason }, 'Redis eviction policy unknown');
  // A garbled event mid-stream is dropped by the provider layer, not fatal to the answer: said here, counted in mana_provider_errors_total.
  const providers = createProviders(config, {
    onMalformedChunk: (endpoint, sample) => {
      log.warn({ endpoint, sample }, 'skipped a malformed streamed event');
      void pipeline.stats.providerError(endpoint.split(':')[0] ?? endpoint, 'malformed_chunk').catch(() => {});
    },
  });
  const running = await RunningJobs.listen(subscriber, pipeline.keys.cancelChannel());
  const signal = await LocalWorkSignal.listen(subscriber, pipeline.keys.localWorkChannel());
  // A provider with several keys, or quotas per key, rotates its keys (see KeyRotation).
  const cloudAdapter = (provider: CloudProviderId) => {
    const keys = providers.cloudKeys[provider];
    const rpm = forTenant(config.keyQuotas.rpm, provider);
    const tpm = forTenant(config.keyQuotas.tpm, provider);
    if (keys.length < 2 && rpm === undefined && tpm === undefined) return providers.cloud[provider];
    log.info({ provider, keys: keys.map((k) => k.keyId), rpm, tpm }, 'rotating API keys');
    return new KeyRotation({ provider, keys, redis, redisKeys: pipeline.keys, rpm, tpm, log });
  };
  const owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  // Hops queued by a version that kept one queue for every GPU move to their models' queues.
  const moved = await moveSharedQueue(pipeline);
  if (moved > 0) log.info({ moved }, "moved hops waiting in the old shared GPU queue to their models' queues");

  const gpuWorkers = config.ollama.hosts.map(
    (host, index) =>
      new GpuWorker({
        host,
        spec: pipeline.options.fleet[index]!,
        index,
        adapter: providers.ollama.get(host.name)!,
        pipeline,
        connect,
        signal,
        running,
        log,
        owner,
        timeoutMs: config.timeouts.ollamaMs,
        stream: { firstTokenMs: config.timeouts.ollamaFirstTokenMs, idleMs: config.timeouts.streamIdleMs },
        stalledIntervalMs: config.stalledIntervalMs,
        keepsInteractiveSlot: index < config.interactiveReservedSlots,
        onDeck: config.gpuOnDeck,
      }),
  );
  await Promise.all(gpuWorkers.map((w) => w.start()));
  const cloudWorkers: Worker[] = CLOUD_PROVIDER_IDS.map((provider) =>
    createCloudWorker({
      provider,
      adapter: cloudAdapter(provider),
      pipeline,
      connect,
      running,
      log,
      concurrency: config.cloudConcurrency,
      timeoutMs: config.timeouts.cloudMs,
      stream: { firstTokenMs: config.timeouts.cloudFirstTokenMs, idleMs: config.timeouts.streamIdleMs },
      stalledIntervalMs: config.stalledIntervalMs,
    }),
  );
  const stopProbes = startHealthProbes(
    pipeline,
    config.ollama.hosts.map((host, i) => ({ host, adapter: providers.ollama.get(host.name)!, lastAnswerAt: () => gpuWorkers[i]!.lastAnswerAt() })),
    config.healthIntervalMs,
    log,
  );
  const stopSpill = startSpillLoop(pipeline, 250, log);
  // Prices are the workers' (they cost each finished job): read at start, again on SIGHUP.
  const reportPrices = (when: string) => {
    const { prices } = pipeline;
    if (prices.lastError) log.error({ path: prices.path, err: prices.lastError }, `${when}: prices not read; jobs are costed with the prices in force before (none at start)`);
    else log.info({ path: prices.path, asOf: prices.current().asOf, targets: Object.keys(prices.current().byTarget).length }, `${when}: prices in force`);
  };
  reportPrices('start');
  const onSighup = () => {
    pipeline.prices.reload();
    reportPrices('SIGHUP');
  };
  process.on('SIGHUP', onSighup);
  log.info({ gpus: pipeline.options.fleet.map((g) => `${g.name} (${g.engine}, ${g.slots} slots)`) }, 'workers started');

  return {
    gpuWorkers,
    async close(graceMs = config.shutdownGraceMs) {
      stopProbes();
      stopSpill();
      signal.close();
      process.off('SIGHUP', onSighup);
      const orderly = (async () => {
        await Promise.all([...gpuWorkers.map((w) => w.close(graceMs)), ...cloudWorkers.map((w) => closeWithin(w, graceMs, running))]);
        await pipeline.queues.close();
        // The statistics of the hops that finished last, still gathered for their batch.
        await pipeline.stats.flush().catch(() => {});
        await pipeline.spillIndex.flush();
        pipeline.spillIndex.close();
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      })();
      // Connections wait through Redis outages; a stop while Redis is gone for good must still end.
      const bound = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs + CLOSE_SLACK_MS).unref());
      if ((await Promise.race([orderly, bound])) === 'late') {
        log.warn({ graceMs }, 'Redis did not answer while stopping; closing its connections as they are');
        for (const c of connections) c.disconnect();
      }
      await tracing.shutdown().catch(() => {});
    },
  };
}

async function closeWithin(worker: Worker, graceMs: number, running: RunningJobs): Promise<void> {
  const closing = worker.close();
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref());
  if (await Promise.race([closing.then(() => false), timer])) {
    running.abortAll();
    await worker.close(true);
  }
}

import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AliasStore } from '@mana/aliases';
import type { Config } from '@mana/config';
import { JobEventHub, type RedisClient, checkEvictionPolicy, createPipeline, createRedis } from '@mana/jobs';
import { startTracing } from '@mana/telemetry';
import type { Logger } from '@mana/logging';
import { createApp } from './app.js';
import { createMetrics } from './metrics.js';
import { ApiKeyStore } from './api-key-store.js';
import { ReloadBroadcast } from './control/reload-broadcast.js';
import { watchQuietBatchReaders } from './batches/resume-ingest.js';
import { reportMissingTargetsOnce } from './fleet/fleet-report.js';

export interface ApiProcess {
  url: string;
  aliases: AliasStore;
  /** Stops accepting connections, lets in-flight requests finish within the grace period, then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Connections, aliases, the app, and a listening server. */
export async function startApi(config: Readonly<Config>, log: Logger): Promise<ApiProcess> {
  const aliases = await AliasStore.open(config.aliasesPath, log);
  const redis = createRedis(config.redis.target, { name: 'mana-api' });
  const subscriber = createRedis(config.redis.target, { name: 'mana-api-events', subscriber: true });
  const tracing = startTracing({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName ?? 'mana-api' });
  const pipeline = createPipeline(config, redis, tracing);
  await refuseEvictingRedis(redis, log).catch(async (err: unknown) => {
    redis.disconnect();
    subscriber.disconnect();
    await tracing.shutdown().catch(() => {});
    throw err;
  });
  const instanceId = randomUUID();
  const hub = await JobEventHub.start(subscriber, redis, pipeline.keys, instanceId);
  const apiKeys = new ApiKeyStore(config.auth);
  const reloads = await ReloadBroadcast.start({ redis, subscriber, keys: pipeline.keys, instanceId, aliases, apiKeys, log });
  const deps = { config, log, pipeline, hub, aliases, apiKeys, reloads, metrics: createMetrics(pipeline, aliases), instanceId };
  const app = createApp(deps);
  const stopIngestWatch = watchQuietBatchReaders(deps);
  const stopFleetReport = reportMissingTargetsOnce(deps, log);
  // SIGHUP reloads this process's aliases and keys; the admin call reloads every API process.
  const onSighup = () => void reloads.reloadHere('sighup').catch((err: unknown) => log.error({ err }, 'reload failed'));
  process.on('SIGHUP', onSighup);
  const stopSighup = () => process.off('SIGHUP', onSighup);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.http.port, config.http.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  if (config.auth.keys.length === 0) {
    log.warn({ host: config.http.host }, 'no API keys configured (MANA_API_KEYS): development mode, loopback only, every request is one tenant');
  }
  log.info({ url, aliases: aliases.status().version }, 'api listening');
  return {
    url,
    aliases,
    async close(graceMs = config.shutdownGraceMs) {
      stopSighup();
      stopIngestWatch();
      stopFleetReport();
      await reloads.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([closed, timer]);
      server.closeAllConnections();
      await pipeline.queues.close();
      // The statistics of jobs this process finished last (cancelled ones), still gathered for their batch.
      await pipeline.stats.flush().catch(() => {});
      // The spill index entries of the hops queued last.
      await pipeline.spillIndex.flush();
      pipeline.spillIndex.close();
      hub.close();
      await Promise.all([redis.quit(), subscriber.quit()].map((p) => p.catch(() => {})));
      await tracing.shutdown().catch(() => {});
    },
  };
}

/** Refuses to start against a Redis that would evict queued work (see checkEvictionPolicy). */
export async function refuseEvictingRedis(redis: RedisClient, log: Logger): Promise<void> {
  const check = await checkEvictionPolicy(redis);
  if (!check.ok) log.warn({ reason: check.reason }, 'Redis eviction policy unknown');
}

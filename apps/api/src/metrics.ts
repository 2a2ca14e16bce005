import type { Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AliasStore } from '@mana/aliases';
import { CLOUD_PROVIDER_IDS } from '@mana/config';
import { missingTargets } from './fleet/fleet-report.js';
import { DURATION_BUCKETS_S, type JobEvent, type Pipeline, type UsageRow, getMany, readUsageTotals } from '@mana/jobs';

export interface ApiMetrics {
  registry: Registry;
  /** Counts every HTTP response by route and status. */
  requests: RequestHandler;
  /** A job this process waited on ended (sync requests). */
  jobFinished(kind: string, alias: string | null, event: JobEvent, seconds: number): void;
}

/**
 * Prometheus metrics. Values that describe the whole gateway (queue depths,
 * GPU health and busy slots, fallbacks, breakers) are read from Redis at
 * scrape time, so every API process reports the same numbers; request and
 * job timings are this process's own, as Prometheus expects of counters and
 * histograms.
 */
export function createMetrics(pipeline: Pipeline, aliases?: AliasStore): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mana_process_' });
  const { keys, redis, options } = pipeline;

  // Cluster-wide counts kept in Redis: each scrape replaces the series with what Redis holds now.
  const fromRedis = <L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Promise<Array<[Record<L, string>, number]>>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const [labels, value] of await read()) this.set(labels, value);
      },
    });
  new Gauge({
    name: 'mana_queue_jobs',
    help: 'Jobs in each queue by state (cluster-wide): one queue per cloud provider, one per local model (queue="ollama/<model>").',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { provider, model, queue } of await pipeline.queues.all()) {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
        for (const [state, n] of Object.entries(counts)) this.set({ queue: model ? `${provider}/${model}` : provider, state }, n);
      }
    },
  });
  new Gauge({
    name: 'mana_gpu_up',
    help: 'Last probe of each GPU server: 1 up, 0 down (absent: not probed yet).',
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [gpu, health] of await pipeline.health.gpus(options.gpus)) if (health) this.set({ gpu }, health.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mana_gpu_drained',
    help: '1 while an operator has drained the GPU.',
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      const drained = await pipeline.health.drained(options.gpus);
      for (const gpu of options.gpus) this.set({ gpu }, drained.has(gpu) ? 1 : 0);
    },
  });
  const busySlots = async () => {
    const raw = await getMany(
      redis,
      options.gpus.map((g) => keys.gpuBusy(g)),
    );
    return options.gpus.map((gpu, i) => ({ gpu, busy: Number(raw[i] ?? 0) }));
  };
  new Gauge({
    name: 'mana_gpu_busy_slots',
    help: 'Jobs each GPU runs now (cluster-wide).',
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      for (const { gpu, busy } of await busySlots()) this.set({ gpu }, busy);
    },
  });
  new Gauge({
    name: 'mana_gpu_utilisation_ratio',
    help: "Busy slots over the GPU server's slots (its slots= setting, else OLLAMA_MAX_CONCURRENT).",
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      const slots = new Map(options.fleet.map((g) => [g.name, g.slots]));
      for (const { gpu, busy } of await busySlots()) this.set({ gpu }, busy / (slots.get(gpu) ?? 1));
    },
  });
  new Gauge({
    name: 'mana_gpu_model_loaded',
    help: '1 for each model a GPU server holds in memory (last probe, or last model switch).',
    labelNames: ['gpu', 'model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const gpu of (await pipeline.cache.fleet.get()).gpus) for (const model of gpu.loaded) this.set({ gpu: gpu.name, model }, 1);
    },
  });
  new Gauge({
    name: 'mana_alias_target_missing',
    help: '1 for each local alias target no GPU server has (its hops move on at once).',
    labelNames: ['alias', 'target'],
    registers: [registry],
    async collect() {
      this.reset();
      if (!aliases) return;
      for (const { alias, target } of missingTargets(aliases.current(), await pipeline.cache.fleet.get())) this.set({ alias, target }, 1);
    },
  });
  fromRedis('mana_fallbacks_total', 'Jobs moved from one target to the next, by reason (failover, overflow); cluster-wide and monotonic.', ['from', 'to', 'reason'], async () =>
    Object.entries(await redis.hgetall(keys.fallbackCounters())).map(([key, n]) => {
      const [from = '', to = '', reason = ''] = key.split('>');
      return [{ from, to, reason }, Number(n)];
    }),
  );
  new Gauge({
    name: 'mana_provider_breaker_open',
    help: '1 while a cloud provider circuit breaker is open.',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      for (const provider of CLOUD_PROVIDER_IDS) this.set({ provider }, (await pipeline.health.breaker(provider)).open ? 1 : 0);
    },
  });

  fromRedis('mana_tokens_total', 'Tokens in and out of every job that succeeded, by provider (cluster-wide, monotonic).', ['provider', 'direction'], async () =>
    (await pipeline.stats.tokens()).map(({ provider, direction, count }) => [{ provider, direction }, count]),
  );
  fromRedis(
    'mana_provider_errors_total',
    'Hops that failed at their provider, by provider and error class (cluster-wide, monotonic), whatever became of the job.',
    ['provider', 'code'],
    async () => (await pipeline.stats.providerErrors()).map(({ provider, code, count }) => [{ provider, code }, count]),
  );
  fromRedis('mana_batch_items', 'Items of each unfinished batch by state (total, completed, failed).', ['batch', 'state'], async () =>
    (await pipeline.batches.unfinished()).flatMap((batch) =>
      (['total', 'completed', 'failed'] as const).map((state): [Record<'batch' | 'state', string>, number] => [{ batch: batch.id, state }, batch[state]]),
    ),
  );
  // The usage ledger's all-time totals, by tenant, alias and target (cluster-wide, monotonic).
  const usageLabels = ['tenant', 'alias', 'target'] as const;
  const usageCounter = (name: string, help: string, value: (row: UsageRow) => number) =>
    fromRedis(name, help, [...usageLabels], async () =>
      (await readUsageTotals(pipeline)).map((row): [Record<(typeof usageLabels)[number], string>, number] => [
        { tenant: row.tenant, alias: row.alias, target: row.target },
        value(row),
      ]),
    );
  usageCounter('mana_usage_requests_total', 'Finished jobs by tenant, alias and the target they finished on.', (r) => r.requests);
  usageCounter('mana_usage_prompt_tokens_total', 'Prompt tokens by tenant, alias and target.', (r) => r.promptTokens);
  usageCounter('mana_usage_completion_tokens_total', 'Completion tokens by tenant, alias and target.', (r) => r.completionTokens);
  usageCounter('mana_usage_gpu_seconds_total', 'Time jobs held a GPU slot, by tenant, alias and target.', (r) => r.gpuSeconds);
  usageCounter('mana_usage_cloud_cost_usd_total', 'Cloud cost from the price table (prices.yaml), by tenant, alias and target.', (r) => r.costUsd);
  usageCounter('mana_usage_cost_avoided_usd_total', "What GPU-served work would have cost on its alias's cloud target.", (r) => r.avoidedUsd);
  registry.registerMetric(phaseHistogram(pipeline) as unknown as Parameters<Registry['registerMetric']>[0]);

  const httpRequests = new Counter({ name: 'mana_http_requests_total', help: 'HTTP responses by route and status.', labelNames: ['route', 'status'], registers: [registry] });
  const jobSeconds = new Histogram({
    name: 'mana_job_duration_seconds',
    help: 'From acceptance to the answer, for jobs this process waited on, by alias, provider and outcome.',
    labelNames: ['kind', 'alias', 'provider', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const failures = new Counter({ name: 'mana_job_failures_total', help: 'Jobs that ended in an error, by code.', labelNames: ['code'], registers: [registry] });

  return {
    registry,
    requests: (req: Request, res: Response, next) => {
      res.on('finish', () => httpRequests.inc({ route: routeOf(req), status: String(res.statusCode) }));
      next();
    },
    jobFinished(kind, alias, event, seconds) {
      const provider = event.type === 'done' ? event.provider : 'none';
      jobSeconds.observe({ kind, alias: alias ?? 'none', provider, outcome: event.type }, seconds);
      if (event.type === 'error') failures.inc({ code: event.error.code });
    },
  };
}

/** The route pattern, not the path: ids must not explode the label space. */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: string } | undefined)?.path;
  return pattern ? `${req.baseUrl}${pattern}` : 'unmatched';
}

/**
 * Every job's wait, run and total time, from the histogram every finishing
 * process adds to in Redis (prom-client keeps histograms per process; this
 * one is cluster-wide, like the queue depths, so any API process can serve it).
 */
function phaseHistogram(pipeline: Pipeline) {
  const name = 'mana_job_phase_seconds';
  const help =
    'Every job (sync, async, batch item): time waiting (queued, failed attempts included), running on the target that finished it, and in all; by kind, alias, provider and outcome (cluster-wide).';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const series of await pipeline.stats.durations()) {
        const labels = { phase: series.phase, kind: series.kind, alias: series.alias, provider: series.provider, outcome: series.outcome };
        let cumulative = 0;
        series.buckets.forEach((n, i) => {
          cumulative += n;
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: i < DURATION_BUCKETS_S.length ? DURATION_BUCKETS_S[i]! : '+Inf' }, value: cumulative });
        });
        values.push({ metricName: `${name}_sum`, labels, value: series.sum }, { metricName: `${name}_count`, labels, value: series.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}

import { Router } from 'express';
import { CLOUD_PROVIDER_IDS, PROVIDER_IDS } from '@mana/config';
import { fleetStatus } from '../fleet/fleet-report.js';
import type { ApiDeps } from '../deps.js';

/** Well inside the 1–2 s timeouts load balancers give a readiness probe. */
const READY_TIMEOUT_MS = 500;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * GET /health: the process is alive. GET /ready: it can take work (Redis
 * answers). GET /status: what an operator wants at a glance — each GPU's and
 * provider's health, queue depths, and how often work fell back, and why.
 */
export function healthRouter(deps: ApiDeps): Router {
  const router = Router();
  const { pipeline } = deps;
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    // A probe needs its answer at once: while the connection is down, a PING would wait in
    // ioredis's offline queue through every reconnect attempt.
    if (pipeline.redis.status !== 'ready') {
      res.status(503).json({ status: 'unavailable', reason: `redis: connection ${pipeline.redis.status}` });
      return;
    }
    try {
      await withTimeout(pipeline.redis.ping(), READY_TIMEOUT_MS);
      res.json({ status: 'ready', aliases: deps.aliases.status().version });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: `redis: ${(err as Error).message}` });
    }
  });
  return router;
}

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;

/** Counts by provider (the local provider's summed over its models' queues), and by local model. */
async function queueCounts(pipeline: ApiDeps['pipeline']) {
  const all = await pipeline.queues.all();
  const counted = await Promise.all(all.map(async (q) => ({ ...q, counts: await q.queue.getJobCounts(...STATES) })));
  const queues: Record<string, Record<string, number>> = {};
  const localQueues: Record<string, Record<string, number>> = {};
  for (const { provider, model, counts } of counted) {
    const sum = (queues[provider] ??= Object.fromEntries(STATES.map((s) => [s, 0])));
    for (const state of STATES) sum[state] = (sum[state] ?? 0) + (counts[state] ?? 0);
    if (model) localQueues[model] = counts;
  }
  for (const provider of PROVIDER_IDS) queues[provider] ??= Object.fromEntries(STATES.map((s) => [s, 0]));
  return { queues, localQueues };
}

/** GET /status: operators only once keys are configured (it shows provider configuration). */
export function statusRouter(deps: ApiDeps): Router {
  const router = Router();
  const { pipeline } = deps;
  router.get('/status', async (_req, res) => {
    const gpus = await pipeline.health.gpus(pipeline.options.gpus);
    const drained = await pipeline.health.drained(pipeline.options.gpus);
    const providers = Object.fromEntries(
      await Promise.all(
        CLOUD_PROVIDER_IDS.map(async (p) => {
          const breaker = await pipeline.health.breaker(p);
          return [p, { configured: pipeline.options.isConfigured(p), breakerOpen: breaker.open, ...(breaker.reason ? { reason: breaker.reason } : {}) }] as const;
        }),
      ),
    );
    const { queues, localQueues } = await queueCounts(pipeline);
    const fallbacks = await pipeline.redis.hgetall(pipeline.keys.fallbackCounters());
    const fleet = fleetStatus(await pipeline.cache.fleet.get(), deps.aliases.current());
    res.json({
      gpus: Object.fromEntries(pipeline.options.gpus.map((g) => [g, { ...(gpus.get(g) ?? { ok: null, detail: 'not probed yet' }), drained: drained.has(g), ...fleet.gpus[g] }])),
      fleet: { models: fleet.models, missingTargets: fleet.missingTargets },
      localQueues,
      providers,
      queues,
      fallbacks: Object.fromEntries(Object.entries(fallbacks).map(([k, v]) => [k, Number(v)])),
      autoFallbackEnabled: pipeline.options.autoFallbackEnabled,
      aliases: deps.aliases.status(),
    });
  });
  return router;
}

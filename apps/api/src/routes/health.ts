import { Router } from 'express';
import { PROVIDER_IDS } from '@mana/config';
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

/** GET /status: operators only once keys are configured (it shows provider configuration). */
export function statusRouter(deps: ApiDeps): Router {
  const router = Router();
  const { pipeline } = deps;
  router.get('/status', async (_req, res) => {
    const gpus = await pipeline.health.gpus(pipeline.options.gpus);
    const drained = await pipeline.health.drained(pipeline.options.gpus);
    const providers = Object.fromEntries(
      await Promise.all(
        PROVIDER_IDS.filter((p) => p !== 'ollama').map(async (p) => {
          const breaker = await pipeline.health.breaker(p);
          return [p, { configured: pipeline.options.isConfigured(p), breakerOpen: breaker.open, ...(breaker.reason ? { reason: breaker.reason } : {}) }] as const;
        }),
      ),
    );
    const queues = Object.fromEntries(
      await Promise.all(
        PROVIDER_IDS.map(async (p) => [p, await pipeline.queues.get(p).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed')] as const),
      ),
    );
    const fallbacks = await pipeline.redis.hgetall(pipeline.keys.fallbackCounters());
    res.json({
      gpus: Object.fromEntries(
        pipeline.options.gpus.map((g) => [g, { ...(gpus.get(g) ?? { ok: null, detail: 'not probed yet' }), drained: drained.has(g) }]),
      ),
      providers,
      queues,
      fallbacks: Object.fromEntries(Object.entries(fallbacks).map(([k, v]) => [k, Number(v)])),
      autoFallbackEnabled: pipeline.options.autoFallbackEnabled,
      aliases: deps.aliases.status(),
    });
  });
  return router;
}

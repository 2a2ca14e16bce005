import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { PROVIDER_IDS, isLocalProvider, isProviderId } from '@mana/config';
import { NotFoundError } from '@mana/errors';
import type { ApiDeps } from '../deps.js';

/**
 * Operator controls (behind the admin key): the aliases in force and a
 * reload (the same as SIGHUP); draining a GPU (its worker finishes what it
 * runs and takes nothing new, its share goes to the other GPUs or spills by
 * the usual rules) and resuming it; pausing and resuming a provider's queue.
 */
export function adminRouter(deps: ApiDeps): Router {
  const router = Router();
  const { pipeline } = deps;
  router.get('/admin/aliases', async (_req, res) => {
    res.json({ ...deps.aliases.status(), processes: await deps.reloads.processes() });
  });
  // Reloads aliases and API keys in every API process (aliases are held per process) and says,
  // process by process, what each has in force now. The top-level fields are this process's.
  router.post('/admin/aliases/reload', async (_req, res) => {
    const { processes, silent } = await deps.reloads.reloadEverywhere(randomUUID());
    const here = processes.find((p) => p.instance === deps.instanceId)?.lastReload ?? (await deps.reloads.reloadHere());
    // A process that did not answer (it may have just stopped) is listed, not counted as a failure.
    const allOk = processes.every((p) => p.lastReload?.aliases.ok && p.lastReload.keys.ok);
    res.status(here.aliases.ok && allOk ? 200 : 422).json({ ...here.aliases, keys: here.keys, status: deps.aliases.status(), processes, silent });
  });
  router.get('/admin/gpus', async (_req, res) => {
    const [health, drained] = await Promise.all([pipeline.health.gpus(pipeline.options.gpus), pipeline.health.drained(pipeline.options.gpus)]);
    res.json({ gpus: pipeline.options.gpus.map((name) => ({ name, drained: drained.has(name), health: health.get(name) ?? null })) });
  });
  for (const [action, drained] of [
    ['drain', true],
    ['resume', false],
  ] as const) {
    router.post(`/admin/gpus/:name/${action}`, async (req, res) => {
      const name = req.params.name as string;
      if (!pipeline.options.gpus.includes(name)) throw new NotFoundError(`no GPU named ${name}; GPUs: ${pipeline.options.gpus.join(', ')}`);
      await pipeline.health.setDrained(name, drained);
      pipeline.cache.clearFleet();
      res.json({ name, drained });
    });
  }
  for (const action of ['pause', 'resume'] as const) {
    // A provider's queue, or with ?model= one local model's (the local provider pauses every model's).
    router.post(`/admin/queues/:provider/${action}`, async (req, res) => {
      const provider = req.params.provider as string;
      if (!isProviderId(provider)) throw new NotFoundError(`no provider queue ${provider}; queues: ${PROVIDER_IDS.join(', ')}`);
      const model = typeof req.query.model === 'string' ? req.query.model : undefined;
      const queues = isLocalProvider(provider) ? (model ? [model] : await pipeline.queues.localModels()).map((m) => pipeline.queues.local(m)) : [pipeline.queues.get(provider)];
      await Promise.all(queues.map((q) => (action === 'pause' ? q.pause() : q.resume())));
      const paused = await Promise.all(queues.map((q) => q.isPaused()));
      res.json({ provider, ...(model ? { model } : {}), paused: action === 'pause' ? paused.every(Boolean) : paused.some(Boolean) });
    });
  }
  return router;
}

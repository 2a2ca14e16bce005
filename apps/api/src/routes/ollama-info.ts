import { createHash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { NotFoundError } from '@mana/errors';
import { fleetModels } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';

/** What /api/version says: a recent Ollama's, so clients that check the server's version for a feature find it. */
export const OLLAMA_API_VERSION = '0.12.6';

/**
 * Ollama's informational routes, answered for the whole fleet: the models
 * its GPU servers have and the aliases (/api/tags), what they hold in
 * memory (/api/ps), a model's card (/api/show), the version, and "Ollama is
 * running" at /. Model management is refused: it is done on each server.
 */
export function ollamaInfoRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/', (_req, res) => void res.type('text/plain').send('Ollama is running'));
  router.head('/', (_req, res) => void res.type('text/plain').end());
  router.get('/api/version', (_req, res) => void res.json({ version: OLLAMA_API_VERSION }));
  router.get('/api/tags', async (_req, res) => {
    const fleet = await deps.pipeline.cache.fleet.get();
    const aliases = Object.keys(deps.aliases.current().aliases);
    res.json({ models: [...fleetModels(fleet).map((m) => card(m, 'gguf')), ...aliases.map((a) => card(a, 'mana-alias'))] });
  });
  router.get('/api/ps', async (_req, res) => {
    const fleet = await deps.pipeline.cache.fleet.get();
    const loaded = [...new Set(fleet.gpus.filter((g) => g.usable).flatMap((g) => g.loaded))].sort();
    const expires = new Date(Date.now() + 5 * 60_000).toISOString();
    res.json({ models: loaded.map((m) => ({ ...card(m, 'gguf'), expires_at: expires, size_vram: 0 })) });
  });
  router.post('/api/show', async (req: Request, res: Response) => {
    const { model } = z.object({ model: z.string().min(1, { error: 'model is required' }) }).parse({ model: req.body?.model ?? req.body?.name });
    const table = deps.aliases.current();
    const alias = table.aliases[model];
    const fleet = await deps.pipeline.cache.fleet.get();
    const local = fleetModels(fleet).find((m) => m === model || m === `${model}:latest`);
    if (!alias && !local) throw new NotFoundError(`model '${model}' not found`, 'model_not_found');
    const spec = table.models[`ollama/${local ?? ''}`];
    res.json({
      modelfile: alias ? `# ${model}: a Mana alias, served by ${alias.chain.map((t) => t.id).join(' → ')}` : `# ${local}, on the fleet's GPU servers`,
      parameters: '',
      template: '',
      details: card(model, alias ? 'mana-alias' : 'gguf').details,
      model_info: { ...(spec?.context ? { 'general.context_length': spec.context } : {}) },
      capabilities: [
        'completion',
        ...(alias?.capabilities.includes('vision') || spec?.capabilities.includes('vision') ? ['vision'] : []),
        ...(alias?.capabilities.includes('tools') || spec?.capabilities.includes('tools') ? ['tools'] : []),
      ],
      modified_at: new Date().toISOString(),
    });
  });
  for (const action of ['pull', 'push', 'create', 'delete', 'copy', 'blobs/:digest']) {
    router.all(`/api/${action}`, (_req, res) => {
      res.status(400).json({
        error: `Mana serves the models its GPU servers have; ${action.split('/')[0]} models on each GPU server itself (e.g. \`ollama pull <model>\` there), and Mana picks them up at its next probe`,
      });
    });
  }
  return router;
}

/** A model as /api/tags lists it; an alias is listed like a model, family "mana-alias". */
function card(name: string, format: string) {
  return {
    name,
    model: name,
    modified_at: new Date(0).toISOString(),
    size: 0,
    digest: createHash('sha256').update(name).digest('hex'),
    details: {
      parent_model: '',
      format,
      family: format === 'mana-alias' ? 'mana-alias' : (name.split(/[:\d]/)[0] ?? name),
      families: null,
      parameter_size: '',
      quantization_level: '',
    },
  };
}

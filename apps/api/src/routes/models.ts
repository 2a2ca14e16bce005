import { Router } from 'express';
import type { ApiDeps } from '../deps.js';

/** GET /v1/models: every alias (with its chain) and every target aliases.yaml describes. */
export function modelsRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/v1/models', (_req, res) => {
    const table = deps.aliases.current();
    const created = Math.floor(Date.parse(table.loadedAt) / 1000);
    const aliases = Object.values(table.aliases).map((a) => ({
      id: a.name,
      object: 'model',
      created,
      owned_by: 'mana',
      kind: a.kind,
      description: a.description ?? null,
      capabilities: a.capabilities,
      chain: a.chain.map((t) => t.id),
      default: a.name === table.defaultAlias || a.name === table.defaultEmbeddingAlias,
    }));
    const targets = Object.entries(table.models).map(([id, spec]) => ({
      id,
      object: 'model',
      created,
      owned_by: id.slice(0, id.indexOf('/')),
      kind: spec.kind,
      capabilities: spec.capabilities,
      ...(spec.dimensions ? { dimensions: spec.dimensions } : {}),
    }));
    res.json({ object: 'list', data: [...aliases, ...targets] });
  });
  return router;
}

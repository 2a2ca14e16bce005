import { Router } from 'express';
import type { AliasTable } from '@mana/aliases';
import { NotFoundError } from '@mana/errors';
import type { ApiDeps } from '../deps.js';

/** GET /v1/models: every alias (with its chain) and every target aliases.yaml describes; GET /v1/models/{id}: one of them. */
export function modelsRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data: modelObjects(deps.aliases.current()) });
  });
  // Ids contain slashes (`mana/fast-text`, `openrouter/deepseek/deepseek-r1`): the rest of the path is the id.
  router.get(/^\/v1\/models\/(.+)$/, (req, res) => {
    const id = decodeURIComponent((req.params as Record<string, string>)[0] ?? '');
    const table = deps.aliases.current();
    const model = modelObjects(table).find((m) => m.id === id);
    if (!model)
      throw new NotFoundError(`model "${id}" is neither an alias nor a target aliases.yaml describes; aliases: ${Object.keys(table.aliases).join(', ')}`, 'model_not_found');
    res.json(model);
  });
  return router;
}

function modelObjects(table: AliasTable) {
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
    ...(spec.context ? { context: spec.context } : {}),
  }));
  return [...aliases, ...targets];
}

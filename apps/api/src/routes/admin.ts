import { Router } from 'express';
import type { ApiDeps } from '../deps.js';

/** Admin routes: the aliases in force and a reload (the same as SIGHUP). */
export function adminRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/admin/aliases', (_req, res) => {
    res.json(deps.aliases.status());
  });
  router.post('/admin/aliases/reload', async (_req, res) => {
    const outcome = await deps.aliases.reload();
    res.status(outcome.ok ? 200 : 422).json({ ...outcome, status: deps.aliases.status() });
  });
  return router;
}

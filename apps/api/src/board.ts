import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router } from 'express';
import { CLOUD_PROVIDER_IDS } from '@mana/config';
import type { ApiDeps } from './deps.js';

export const BOARD_PATH = '/admin/queues';

/**
 * bull-board over every queue: each cloud provider's and each local model's
 * (`ollama/<model>`, added as models get queues). A hop's name in the board
 * reads `<job id> · hop <n> · <target>`, so an operator can follow one
 * request across its hops; a failed hop shows the provider's error.
 */
export function boardRouter(deps: ApiDeps, options: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const adapt = (queue: Queue, displayName: string, description: string) => {
    const adapter = new BullMQAdapter(queue, { readOnlyMode: options.readOnly, allowRetries: false, displayName, description });
    adapter.setFormatter('name', (job: { name?: string; data?: { jobId?: string; hop?: number; target?: { id?: string } } }) =>
      job.data?.jobId ? `${job.data.jobId} · hop ${job.data.hop} · ${job.data.target?.id}` : (job.name ?? ''),
    );
    return adapter;
  };
  const cloud = CLOUD_PROVIDER_IDS.map((provider) => adapt(deps.pipeline.queues.get(provider), provider, `${provider} (cloud)`));
  const board = createBullBoard({ queues: cloud, serverAdapter, options: { uiConfig: { boardTitle: 'Mana queues' } } });
  const shown = new Set<string>();
  // Each board request (operators only) looks for local models that got a queue since: one SMEMBERS.
  const addLocalQueues = async () => {
    for (const model of await deps.pipeline.queues.localModels()) {
      if (shown.has(model)) continue;
      shown.add(model);
      board.addQueue(adapt(deps.pipeline.queues.local(model), `ollama/${model}`, `local model on GPU servers: ${deps.pipeline.options.gpus.join(', ')}`));
    }
  };
  const router = Router();
  router.use((_req, _res, next) => void addLocalQueues().then(() => next(), next));
  router.use(serverAdapter.getRouter() as Router);
  return router;
}

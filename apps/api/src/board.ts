import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import { PROVIDER_IDS } from '@mana/config';
import type { ApiDeps } from './deps.js';

export const BOARD_PATH = '/admin/queues';

/**
 * bull-board over every provider queue. A hop's name in the board reads
 * `<job id> · hop <n> · <target>`, so an operator can follow one request
 * across its hops; a failed hop shows the provider's error.
 */
export function boardRouter(deps: ApiDeps, options: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const queues = PROVIDER_IDS.map((provider) => {
    const adapter = new BullMQAdapter(deps.pipeline.queues.get(provider), {
      readOnlyMode: options.readOnly,
      allowRetries: false,
      displayName: provider,
      description: provider === 'ollama' ? `GPU servers: ${deps.pipeline.options.gpus.join(', ')}` : `${provider} (cloud)`,
    });
    adapter.setFormatter('name', (job: { name?: string; data?: { jobId?: string; hop?: number; target?: { id?: string } } }) =>
      job.data?.jobId ? `${job.data.jobId} · hop ${job.data.hop} · ${job.data.target?.id}` : (job.name ?? ''),
    );
    return adapter;
  });
  createBullBoard({ queues, serverAdapter, options: { uiConfig: { boardTitle: 'Mana queues' } } });
  return serverAdapter.getRouter() as Router;
}

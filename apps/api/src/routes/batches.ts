import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { ManaError, NotFoundError } from '@mana/errors';
import { BATCH_ENDPOINTS, type BatchRecord, batchFileId, cancelJob, parseCompletionWindow } from '@mana/jobs';
import { startIngest } from '../batches/resume-ingest.js';
import { newReaderId } from '../batches/ingest.js';
import type { ApiDeps } from '../deps.js';
import { queueEstimate } from '../jobs/job-view.js';
import { tenantOf } from '../middleware/auth.js';
import { ownFile } from './files.js';

const CreateBatchSchema = z.object({
  input_file_id: z.string().min(1),
  endpoint: z.enum(BATCH_ENDPOINTS, { error: `endpoint must be one of ${BATCH_ENDPOINTS.join(', ')}` }),
  // OpenAI accepts only "24h"; shorter windows (e.g. "2h", "30m") are a Mana extension.
  completion_window: z.string().refine((w) => parseCompletionWindow(w) !== undefined, {
    error: 'completion_window must be "24h", or a whole number of s, m, h or d between 1s and 7d (e.g. "2h")',
  }),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

/** OpenAI's Batch API: a JSONL file of requests in, one job per line, output and error files out. */
export function batchesRouter(deps: ApiDeps): Router {
  const router = Router();
  const { batches, files } = deps.pipeline;

  router.post('/v1/batches', async (req: Request, res: Response) => {
    const body = CreateBatchSchema.parse(req.body);
    const input = await ownFile(deps, res, body.input_file_id);
    const id = `batch_${randomUUID().replaceAll('-', '')}`;
    const tenant = tenantOf(res);
    const now = Date.now();
    const common = { tenant, createdAt: now, purpose: 'batch_output' };
    await files.createEmpty({ ...common, id: batchFileId(id, 'output'), filename: `${id}_output.jsonl` });
    await files.createEmpty({ ...common, id: batchFileId(id, 'errors'), filename: `${id}_errors.jsonl` });
    await batches.create({
      id,
      tenant,
      endpoint: body.endpoint,
      inputFileId: input.id,
      completionWindow: body.completion_window,
      createdAt: now,
      outputFileId: batchFileId(id, 'output'),
      errorFileId: batchFileId(id, 'errors'),
      metadata: body.metadata ?? {},
    });
    const batch = (await batches.get(id))!;
    // Ingestion goes on after the answer; its progress shows in request_counts.
    startIngest(deps, batch, { reader: newReaderId(deps.instanceId) });
    res.json(batchObject(batch));
  });

  router.get('/v1/batches', async (req: Request, res: Response) => {
    const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 20) || 20));
    const list = (await batches.list(tenantOf(res), limit)).map(batchObject);
    res.json({ object: 'list', data: list, first_id: list[0]?.id ?? null, last_id: list.at(-1)?.id ?? null, has_more: false });
  });

  router.get('/v1/batches/:id', async (req: Request, res: Response) => {
    const batch = await ownBatch(deps, res, req.params.id as string);
    res.json({ ...batchObject(batch), mana_progress: await progress(deps, batch) });
  });

  router.post('/v1/batches/:id/cancel', async (req: Request, res: Response) => {
    const batch = await ownBatch(deps, res, req.params.id as string);
    if (['completed', 'failed', 'cancelled'].includes(batch.status)) throw new ManaError('invalid_request', `batch ${batch.id} has already ended (${batch.status})`);
    await batches.setStatus(batch.id, 'cancelling', { cancellingAt: String(Date.now()) });
    // Newest first: waiting items leave the queue before the running ones are aborted, so a
    // freed GPU slot finds nothing of this batch to start. Each item is accounted as it ends,
    // and the batch turns 'cancelled' with the last one.
    for (const jobId of (await batches.itemJobs(batch.id)).reverse()) await cancelJob(deps.pipeline, jobId);
    res.json(batchObject((await batches.get(batch.id))!));
  });
  return router;
}

/**
 * Mana's extension of the batch object while it runs: where its last item
 * stands in the fair-share order (among every tenant's waiting work) and
 * about when it will be done. Null when the batch is not running or its
 * last item is no longer waiting.
 */
async function progress(deps: ApiDeps, batch: BatchRecord) {
  if (batch.status !== 'in_progress') return null;
  const [lastId] = await deps.pipeline.redis.lrange(deps.pipeline.keys.batchJobs(batch.id), -1, -1);
  const last = lastId ? await deps.pipeline.records.get(lastId) : undefined;
  const estimate = last ? await queueEstimate(deps.pipeline, last) : null;
  if (!estimate) return null;
  return { last_item_position: estimate.position, estimated_last_start_ms: estimate.startMs };
}

async function ownBatch(deps: ApiDeps, res: Response, id: string): Promise<BatchRecord> {
  const batch = await deps.pipeline.batches.get(id);
  if (!batch || batch.tenant !== tenantOf(res)) throw new NotFoundError(`no batch ${id}`);
  return batch;
}

function batchObject(batch: BatchRecord) {
  const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000));
  const finished = batch.status === 'completed' || batch.status === 'cancelled';
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    errors: batch.error ? { object: 'list', data: [{ code: 'batch_failed', message: batch.error, line: null, param: null }] } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: finished && batch.completed > 0 ? batch.outputFileId : null,
    error_file_id: finished && batch.failed > 0 ? batch.errorFileId : null,
    created_at: seconds(batch.createdAt),
    in_progress_at: seconds(batch.inProgressAt),
    expires_at: seconds(batch.createdAt + 24 * 3600 * 1000),
    finalizing_at: null,
    completed_at: seconds(batch.completedAt),
    failed_at: seconds(batch.failedAt),
    expired_at: null,
    cancelling_at: seconds(batch.cancellingAt),
    cancelled_at: seconds(batch.cancelledAt),
    request_counts: { total: batch.total, completed: batch.completed, failed: batch.failed },
    metadata: batch.metadata,
  };
}

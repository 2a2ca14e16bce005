import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { ManaError, NotFoundError, ValidationError } from '@mana/errors';
import { cancelJob, isTerminalEvent, type JobEvent } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';
import { tenantOf } from '../middleware/auth.js';
import { claimIdempotencyKey, releaseIdempotencyKey } from '../jobs/idempotency.js';
import { jobView } from '../jobs/job-view.js';
import { JobRequestSchema } from '../jobs/schemas.js';
import { imageFetchOptions, toChatWork, toEmbeddingWork } from '../openai/translate.js';
import { inlineImageUrls } from '../openai/image-fetch.js';
import { submitJob } from '../submit.js';

/** The native job API: submit now, poll or stream later, cancel any time. */
export function jobsRouter(deps: ApiDeps): Router {
  const router = Router();
  const baseUrl = (req: Request) => `${req.protocol}://${req.get('host') ?? 'localhost'}`;

  router.post('/v1/jobs', async (req: Request, res: Response) => {
    const body = JobRequestSchema.parse(req.body);
    const key = req.header('idempotency-key');
    const id = `job_${randomUUID().replaceAll('-', '')}`;
    const tenant = tenantOf(res);
    const earlier = key ? await claimIdempotencyKey(deps.pipeline, key, id, tenant) : undefined;
    if (earlier) {
      const found = await deps.pipeline.records.get(earlier);
      const record = found && (found.tenant ?? 'default') === tenant ? found : undefined;
      res.status(record ? 200 : 202).json(record ? await jobView(deps.pipeline, record, baseUrl(req)) : { id: earlier, object: 'job', status: 'queued' });
      return;
    }
    // Chat jobs always stream internally, so the events endpoint can show tokens as they come.
    const work = body.type === 'chat' ? { ...toChatWork(await inlineImageUrls(body.request, imageFetchOptions(deps))), stream: true } : toEmbeddingWork(body.request);
    try {
      await submitJob(deps, { id, work, model: body.request.model, priority: body.priority, maxWaitMs: body.max_wait_ms, metadata: body.metadata, tenant });
    } catch (err) {
      if (key) await releaseIdempotencyKey(deps.pipeline, key, tenant);
      throw err;
    }
    const record = await deps.pipeline.records.get(id);
    res
      .status(202)
      .location(`/v1/jobs/${id}`)
      .json(await jobView(deps.pipeline, record!, baseUrl(req)));
  });

  router.get('/v1/jobs/:id', async (req: Request, res: Response) => {
    res.json(await jobView(deps.pipeline, await findJob(deps, res, req.params.id as string), baseUrl(req)));
  });

  router.delete('/v1/jobs/:id', async (req: Request, res: Response) => {
    const record = await findJob(deps, res, req.params.id as string);
    if (!(await cancelJob(deps.pipeline, record.id))) {
      throw new ManaError('invalid_request', `job ${record.id} has already finished (${record.status})`);
    }
    res.json(await jobView(deps.pipeline, (await deps.pipeline.records.get(record.id))!, baseUrl(req)));
  });

  router.get('/v1/jobs/:id/events', async (req: Request, res: Response) => {
    const record = await findJob(deps, res, req.params.id as string);
    if (record.batch) throw new ValidationError(`job ${record.id} is an item of batch ${record.batch.id}: read its result from the batch's output file`, 'id');
    const after = Number(req.header('last-event-id') ?? req.query.after ?? 0);
    await streamEvents(deps, res, record.id, Number.isInteger(after) && after > 0 ? after : 0);
  });
  return router;
}

/** Another tenant's job is reported as missing, not forbidden: ids reveal nothing. */
async function findJob(deps: ApiDeps, res: Response, id: string) {
  const record = await deps.pipeline.records.get(id);
  if (!record || (record.tenant ?? 'default') !== tenantOf(res)) throw new NotFoundError(`no job ${id}`);
  return record;
}

/**
 * The job's events as SSE, each with `id: <seq>`: a client that reconnects
 * with Last-Event-ID gets every later event once, and the stream ends after
 * the job's last event (done, error or cancelled).
 */
async function streamEvents(deps: ApiDeps, res: Response, jobId: string, afterSeq: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let finished = false;
  const send = (event: JobEvent) => {
    if (finished) return;
    const { seq, job: _job, ...data } = event;
    res.write(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
    if (isTerminalEvent(event)) {
      finished = true;
      res.end();
    }
  };
  const stop = await deps.hub.follow(jobId, send, afterSeq);
  if (finished) stop();
  else res.on('close', stop);
}

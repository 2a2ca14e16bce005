import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { ManaError, NotFoundError, ValidationError } from '@mana/errors';
import { type ChatResultBody, type JobEvent, type JobRecord, answeredModel, cancelJob } from '@mana/jobs';
import { sendJson } from '../http/json-bytes.js';
import type { ApiDeps } from '../deps.js';
import { schedulingFrom } from '../job-options.js';
import { tenantOf } from '../middleware/auth.js';
import { inlineImageUrls } from '../openai/image-fetch.js';
import { ChatCompletionRequestSchema } from '../openai/schemas.js';
import { imageFetchOptions, toChatWork } from '../openai/translate.js';
import { type ResponseEcho, echoOf, jobIdOf, responseBody, responseIdOf } from '../responses/body.js';
import { ResponseRequestSchema } from '../responses/schemas.js';
import { conversationBefore, loadResponse, resolveItemReferences, saveResponse } from '../responses/store.js';
import { ResponsesStream } from '../responses/stream.js';
import { toChatBody } from '../responses/translate.js';
import { submitJob } from '../submit.js';
import { failureOf, sendFailure, setJobHeaders, submitAndWatch } from '../watch-job.js';

/**
 * OpenAI's Responses API over the same jobs and routing as chat
 * completions: a response is a job (`resp_<hex>` is `job_<hex>`), its
 * conversation kept for `previous_response_id` within the job retention;
 * `background: true` is a durable async job, read back, cancelled or
 * streamed (and resumed with `starting_after`) by id.
 */
export function responsesRouter(deps: ApiDeps): Router {
  const router = Router();

  router.post('/v1/responses', async (req: Request, res: Response) => {
    const parsed = ResponseRequestSchema.parse(req.body);
    const tenant = tenantOf(res);
    const body = { ...parsed, input: await resolveItemReferences(deps, parsed.input, tenant) };
    const previous = body.previous_response_id ? await conversationBefore(deps, body.previous_response_id, tenant) : [];
    const { chat, history } = toChatBody(body, previous);
    const work = toChatWork(await inlineImageUrls(ChatCompletionRequestSchema.parse(chat), imageFetchOptions(deps)));
    const jobId = `job_${randomUUID().replaceAll('-', '')}`;
    const id = responseIdOf(jobId);
    const echo = echoOf(body, body.model ?? deps.aliases.current().defaultAlias);
    await saveResponse(deps, id, { tenant, history, echo });
    if (body.background) {
      await submitJob(deps, { id: jobId, work: { ...work, stream: true }, model: body.model, priority: 'async', tenant, ...(body.metadata ? { metadata: body.metadata } : {}) });
      if (body.stream) return followAsResponses(deps, res, jobId, echo, -1);
      res.json(responseBody(id, echo, { status: 'queued', createdAt: Date.now() }));
      return;
    }
    const watched = await submitAndWatch(deps, res, { id: jobId, work, model: body.model, ...schedulingFrom(req, 'interactive') });
    try {
      const translate = new ResponseEvents(res, id, echo, Date.now());
      setJobHeaders(res, jobId);
      for await (const event of watched.events) {
        if (work.stream ? translate.stream(event) : translate.whole(event)) break;
      }
      if (translate.discarded) await cancelJob(deps.pipeline, jobId);
    } finally {
      watched.stop();
    }
  });

  router.get('/v1/responses/:id', async (req: Request, res: Response) => {
    const { id, record, echo } = await findResponse(deps, res, req.params.id as string);
    if (req.query.stream === 'true') {
      const after = req.query.starting_after === undefined ? -1 : Number(req.query.starting_after);
      if (!Number.isInteger(after) || after < -1) throw new ValidationError('starting_after: expected a sequence number', 'starting_after');
      return followAsResponses(deps, res, record.id, echo, after);
    }
    res.json(responseBody(id, echo, stateOf(record)));
  });

  router.post('/v1/responses/:id/cancel', async (req: Request, res: Response) => {
    const { id, record, echo } = await findResponse(deps, res, req.params.id as string);
    if (!(await cancelJob(deps.pipeline, record.id))) throw new ManaError('invalid_request', `response ${id} has already finished (${record.status})`);
    res.json(responseBody(id, echo, stateOf((await deps.pipeline.records.get(record.id))!)));
  });
  return router;
}

/** Another tenant's response is reported as missing, not forbidden. */
async function findResponse(deps: ApiDeps, res: Response, id: string): Promise<{ id: string; record: JobRecord; echo: ResponseEcho }> {
  const jobId = jobIdOf(id);
  const stored = jobId ? await loadResponse(deps, id, tenantOf(res)) : undefined;
  const record = stored && jobId ? await deps.pipeline.records.get(jobId) : undefined;
  if (!stored || !record) throw new NotFoundError(`no response ${id}`);
  return { id, record, echo: stored.echo };
}

function stateOf(record: JobRecord) {
  return {
    status: record.status,
    createdAt: record.createdAt,
    model: record.provider && record.model ? answeredModel({ provider: record.provider, model: record.model }) : undefined,
    result: record.result as ChatResultBody | undefined,
    usage: record.usage,
    error: record.error,
  };
}

/** A job's events (replayed from its first, then live) as the Responses stream, from after `startingAfter`. */
async function followAsResponses(deps: ApiDeps, res: Response, jobId: string, echo: ResponseEcho, startingAfter: number): Promise<void> {
  const record = await deps.pipeline.records.get(jobId);
  const translate = new ResponseEvents(res, responseIdOf(jobId), echo, record?.createdAt ?? Date.now(), startingAfter);
  translate.begin();
  let ended = false;
  const stop = await deps.hub.follow(
    jobId,
    (event) => {
      if (!ended && translate.stream(event)) ended = true;
    },
    0,
  );
  if (ended) stop();
  else res.on('close', stop);
}

/**
 * Turns a job's events into a response: whole (`whole`) or as the
 * Responses stream (`stream`); each returns true once the response is over.
 */
class ResponseEvents {
  private readonly out: ResponsesStream;
  /** A restart that would take back text the client has: the job is cancelled after the stream fails. */
  discarded = false;

  constructor(
    private readonly res: Response,
    private readonly id: string,
    private readonly echo: ResponseEcho,
    private readonly createdAt: number,
    startingAfter = -1,
  ) {
    this.out = new ResponsesStream(res, id, startingAfter);
  }

  begin(): void {
    this.out.start(responseBody(this.id, this.echo, { status: 'running', createdAt: this.createdAt }));
  }

  whole(event: JobEvent): boolean {
    if (event.type === 'done') {
      setJobHeaders(this.res, event.job, event);
      sendJson(this.res, responseBody(this.id, this.echo, this.doneState(event)));
      return true;
    }
    const failure = failureOf(event);
    if (failure) sendFailure(this.res, event.job, failure);
    return failure !== undefined;
  }

  stream(event: JobEvent): boolean {
    switch (event.type) {
      case 'delta':
        this.begin();
        this.out.delta(event.content);
        return false;
      case 'restart':
        if (!this.out.hasStarted || (event.continues && event.kept === this.out.sent)) return false;
        this.discarded = true;
        this.out.fail(
          responseBody(this.id, this.echo, {
            status: 'failed',
            createdAt: this.createdAt,
            error: { code: 'provider_unavailable', message: `the model failed after the stream began (${event.reason}); the partial answer is incomplete` },
          }),
        );
        return true;
      case 'done':
        this.begin();
        this.out.finish(responseBody(this.id, this.echo, this.doneState(event)), event.result as ChatResultBody);
        return true;
      case 'error':
      case 'cancelled': {
        const failure = failureOf(event)!;
        if (!this.out.hasStarted) {
          sendFailure(this.res, event.job, failure);
          return true;
        }
        this.out.fail(responseBody(this.id, this.echo, { status: event.type === 'error' ? 'failed' : 'cancelled', createdAt: this.createdAt, error: failure }));
        return true;
      }
      default:
        return false;
    }
  }

  private doneState(event: Extract<JobEvent, { type: 'done' }>) {
    return { status: 'succeeded' as const, createdAt: this.createdAt, model: answeredModel(event), result: event.result as ChatResultBody, usage: event.usage };
  }
}

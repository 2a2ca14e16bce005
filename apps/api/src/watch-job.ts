import type { Response } from 'express';
import { type SerializedError, httpStatusOf, toSerializedError } from '@mana/errors';
import { cancelJob, isTerminalEvent, type JobEvent } from '@mana/jobs';
import { errorBody } from './openai/responses.js';
import type { ApiDeps } from './deps.js';
import { tenantOf } from './middleware/auth.js';
import { EventQueue } from './event-queue.js';
import { type Accepted, type Submission, submitJob } from './submit.js';

export interface WatchedJob {
  accepted: Accepted;
  events: AsyncIterable<JobEvent>;
  /** Stops listening; call when the response is done. */
  stop(): void;
}

/**
 * Submits a job whose answer goes back on this response, and ties their
 * lives together: a client that disconnects before the answer cancels the job.
 */
export async function submitAndWatch(deps: ApiDeps, res: Response, submission: Submission): Promise<WatchedJob> {
  const queue = new EventQueue();
  const started = performance.now();
  // Aliases are a closed set; anything else is labelled by kind only, so clients cannot grow the label space.
  const alias = submission.model?.startsWith('mana/') ? submission.model : submission.model ? 'direct' : 'default';
  const observe = (event: JobEvent) => {
    if (isTerminalEvent(event)) deps.metrics.jobFinished(submission.work.kind, alias, event, (performance.now() - started) / 1000);
    queue.push(event);
  };
  const accepted = await submitJob(deps, { ...submission, tenant: tenantOf(res) }, observe);
  const id = accepted.id;
  res.on('close', () => {
    if (!res.writableFinished) {
      void cancelJob(deps.pipeline, id).catch((err: unknown) => deps.log.error({ err, jobId: id }, 'cancel failed'));
    }
    queue.close();
  });
  return {
    accepted,
    events: queue,
    stop: () => {
      accepted.unsubscribe();
      queue.close();
    },
  };
}

/** Headers that tell the client which job, provider and model served it. */
export function setJobHeaders(res: Response, jobId: string, done?: Extract<JobEvent, { type: 'done' }>): void {
  res.setHeader('x-mana-job-id', jobId);
  if (!done) return;
  res.setHeader('x-mana-provider', done.provider);
  res.setHeader('x-mana-model', `${done.provider}/${done.model}`);
  res.setHeader('x-mana-hops', String(done.hop + 1));
}

/** The error a job ended with, for an `error` or `cancelled` event; undefined for any other event. */
export function failureOf(event: JobEvent): SerializedError | undefined {
  if (event.type === 'error') return toSerializedError(event.error);
  if (event.type === 'cancelled') return { name: 'CancelledError', code: 'cancelled', message: 'the job was cancelled', retryable: false };
  return undefined;
}

/** Answers a job that failed before any of its answer was sent: the error's status and OpenAI's error body. */
export function sendFailure(res: Response, jobId: string, error: SerializedError): void {
  setJobHeaders(res, jobId);
  res.status(httpStatusOf(error.code)).json(errorBody(error));
}

import { isLocalProvider } from '@mana/config';
import { ManaError, ProviderError, type SerializedError, serializeError } from '@mana/errors';
import type { Decision, JobView, RoutingEvent, RoutingPolicy, TargetState } from './types.js';

/** A pinned hop's tries are spaced 1 s, 2 s, 4 s … apart, at most a minute. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
/** A rate-limited hop is tried at most this many times on its target (the first try included). */
export const RATE_LIMIT_TRIES = 3;
/** Without a Retry-After (or RetryInfo), rate-limited tries are spaced 0.5 s, 1 s … (× 0.5–1.5 jitter). */
export const RATE_LIMIT_BACKOFF_MS = 500;
/** A provider asking for a longer wait than this sends a job that can move to its next target at once. */
export const RATE_LIMIT_MAX_WAIT_MS = 4_000;

/**
 * The job's next step, given what happened. Pure: every routing rule of the
 * gateway is here, and carrying a decision out (checked Lua transitions,
 * BullMQ) is done in one place (@mana/jobs `carryOut`). See docs/job-life.md.
 */
export function decide(job: JobView, event: RoutingEvent, policy: RoutingPolicy): Decision {
  const target = job.chain[job.hop];
  if (!target) throw new Error(`the job has no hop ${job.hop}`);
  const hasNext = policy.autoFallback && job.chain[job.hop + 1] !== undefined;
  switch (event.type) {
    case 'dispatch':
      return onDispatch(job, event.target, hasNext);
    case 'hop-failed':
      // Part of the answer is out: the same target again would start it over, so only moving on (to continue it) or failing remain.
      if (event.streamed) return onStreamedFailure(job, event.error, hasNext);
      if (event.error.code === 'provider_rate_limited') return onRateLimited(job, event.error, event.now, event.jitter ?? 0.5, hasNext);
      if (isTransient(job, event.error, policy)) return { action: 'retry', delayMs: policy.transientRetryMs!, attempt: 1, error: event.error };
      return onFailure(job, event.error, event.now, hasNext);
    case 'waited-too-long':
      return hasNext ? moveOn('spilled', 'overflow', `${target.id} ${event.because}`) : { action: 'stay' };
    case 'no-usable-gpu':
      return hasNext ? moveOn('skipped', 'failover', `${target.id} ${event.because}`) : { action: 'stay' };
  }
}

function onDispatch(job: JobView, state: TargetState, hasNext: boolean): Decision {
  const target = job.chain[job.hop]!;
  switch (state.state) {
    case 'ready':
      return { action: 'queue' };
    case 'unavailable':
      // The last target is queued anyway: the job runs when it is back, or fails there with its reason.
      if (!hasNext) return { action: 'queue' };
      return { action: 'move-on', status: 'skipped', reason: 'failover', error: unavailable(job, `${target.id} skipped: ${state.reason}`) };
    case 'missing':
      // No server would ever pull it: waiting would be forever.
      if (!hasNext) return { action: 'fail', error: unavailable(job, `${target.id}: ${state.reason}`), exhausted: job.hop > 0 };
      return { action: 'move-on', status: 'skipped', reason: 'failover', error: unavailable(job, `${target.id} skipped: ${state.reason}`) };
    case 'unfit':
      // The estimate is rough: the last target is asked anyway, and says itself if the prompt is too long.
      if (!hasNext) return { action: 'queue' };
      return { action: 'move-on', status: 'skipped', reason: 'failover', error: unavailable(job, `${target.id} skipped: ${state.reason}`) };
    case 'backlogged':
      if (!hasNext || job.maxWaitMs === null || state.waitMs <= job.maxWaitMs) return { action: 'queue' };
      return moveOn('spilled', 'overflow', `${target.id} passed over: estimated wait ${Math.round(state.waitMs)} ms exceeds the tolerance of ${job.maxWaitMs} ms`);
  }
}

/**
 * A 429: the same target again after the wait the provider asked for (or a
 * jittered backoff), at most RATE_LIMIT_TRIES tries in all; a job that can
 * move does so once those are spent, or at once when the provider asks for
 * longer than RATE_LIMIT_MAX_WAIT_MS. A pinned job keeps trying until its
 * batch's window closes.
 */
function onRateLimited(job: JobView, error: SerializedError, now: number, jitter: number, hasNext: boolean): Decision {
  const attempt = (job.attempt ?? 0) + 1;
  const backoff = Math.min(RATE_LIMIT_BACKOFF_MS * 2 ** (attempt - 1), RETRY_MAX_MS) * (0.5 + jitter);
  const delayMs = Math.round(error.retryAfterMs ?? backoff);
  const triesLeft = attempt < RATE_LIMIT_TRIES;
  if (hasNext && (!triesLeft || delayMs > RATE_LIMIT_MAX_WAIT_MS)) return { action: 'move-on', status: 'failed', reason: 'failover', error };
  if (triesLeft || (job.retryUntil !== undefined && now + delayMs < job.retryUntil)) return { action: 'retry', delayMs, attempt, error };
  return { action: 'fail', error, exhausted: job.hop > 0 };
}

/** A first 5xx or connection reset from a cloud target, with the quick retry on: worth one more try there before moving on. */
function isTransient(job: JobView, error: SerializedError, policy: RoutingPolicy): boolean {
  const target = job.chain[job.hop]!;
  if (!policy.transientRetryMs || isLocalProvider(target.provider) || (job.attempt ?? 0) > 0) return false;
  return error.code === 'provider_unavailable' && (error.reset === true || (error.status !== undefined && error.status >= 500));
}

function onStreamedFailure(job: JobView, error: SerializedError, hasNext: boolean): Decision {
  if (hasNext && error.retryable) return { action: 'move-on', status: 'failed', reason: 'failover', error };
  if (!error.retryable) return onFailure(job, error, 0, false);
  return { action: 'fail', error, exhausted: job.hop > 0 };
}

function onFailure(job: JobView, error: SerializedError, now: number, hasNext: boolean): Decision {
  const target = job.chain[job.hop]!;
  if (!error.retryable && job.continues !== undefined) return { action: 'fail', error: continuationRefused(job, error), exhausted: false };
  if (!error.retryable) return { action: 'fail', error, exhausted: false };
  if (hasNext) return { action: 'move-on', status: 'failed', reason: 'failover', error };
  // The last target could not take the prompt either: that is the request's size, a 400 in the provider's words, not a 502.
  if (error.code === 'context_length_exceeded') return { action: 'fail', error, exhausted: false };
  if (job.retryUntil !== undefined) {
    const attempt = (job.attempt ?? 0) + 1;
    const delayMs = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
    if (now + delayMs < job.retryUntil) return { action: 'retry', delayMs, attempt, error };
    const why = `${target.id} still failed when its batch's completion window closed (${attempt} tries; pinned to this model, so no other was asked): ${error.message}`;
    const code = error.code === 'provider_timeout' ? 'provider_timeout' : 'provider_unavailable';
    return { action: 'fail', error: serializeError(new ProviderError(code, why, { provider: target.provider, target: target.id })), exhausted: false };
  }
  return { action: 'fail', error, exhausted: job.hop > 0 };
}

/**
 * The fallback would not take the answer so far (e.g. it refuses a final
 * assistant message): the client holds a partial answer that must not pass
 * for a whole one, so the job fails saying exactly that.
 */
function continuationRefused(job: JobView, error: SerializedError): SerializedError {
  const target = job.chain[job.hop]!;
  const message = `the answer was cut after ${job.continues} characters and ${target.id} could not continue it (${error.message}); the partial answer is incomplete`;
  return serializeError(new ProviderError('provider_unavailable', message, { provider: target.provider, target: target.id }));
}

function moveOn(status: 'skipped' | 'spilled', reason: 'failover' | 'overflow', message: string): Decision {
  return { action: 'move-on', status, reason, error: serializeError(new ManaError('provider_unavailable', message)) };
}

function unavailable(job: JobView, message: string): SerializedError {
  const target = job.chain[job.hop]!;
  return serializeError(new ProviderError('provider_unavailable', message, { provider: target.provider, target: target.id }));
}

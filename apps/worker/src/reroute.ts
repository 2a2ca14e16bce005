import { ChainExhaustedError, ProviderError, type SerializedError, serializeError } from '@mana/errors';
import { type HopPayload, type Pipeline, countFallback, dispatchHop, partialAnswerError, retryLater } from '@mana/jobs';

export type RerouteOutcome = 'rerouted' | 'retrying' | 'failed' | 'moved-on';

/** A pinned hop's tries are spaced 1 s, 2 s, 4 s … apart, at most a minute. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * After a hop failed: a failure another target may not share (unavailable,
 * timeout, rate limit, model missing, our bad key) moves the job to its next
 * target; a client error, or the end of the chain, fails the job with every
 * hop's error listed. A client that already holds part of this hop's
 * streamed answer cannot be given another target's: that job fails. A job
 * pinned to its one target (an embedding batch's item) tries it again later,
 * until its batch's completion window closes.
 */
export async function reroute(p: Pipeline, payload: HopPayload, err: unknown): Promise<RerouteOutcome> {
  const error = serializeError(err);
  void p.stats.providerError(payload.target.provider, error.code).catch(() => {});
  const next = p.options.autoFallbackEnabled ? payload.chain[payload.hop + 1] : undefined;
  if (error.retryable && next) {
    const moved = await p.records.advanceHop(payload.jobId, payload.hop, { status: 'failed', error }, { target: next, reason: 'failover' });
    if (moved === 'held') return (await p.records.fail(payload.jobId, payload.hop, partialAnswerError(payload.target.id, error.message), error)) ? 'failed' : 'moved-on';
    if (moved === 'over') return 'moved-on';
    countFallback(p, payload.target, next, 'failover');
    await dispatchHop(p, { ...payload, hop: payload.hop + 1, target: next });
    return 'rerouted';
  }
  if (error.retryable && !next && payload.retryUntil !== undefined) return retryPinned(p, payload, error);
  const final = error.retryable && payload.hop > 0 ? await exhausted(p, payload.jobId, payload.target.id, error) : error;
  return (await p.records.fail(payload.jobId, payload.hop, final, error)) ? 'failed' : 'moved-on';
}

async function exhausted(p: Pipeline, jobId: string, target: string, last: SerializedError): Promise<SerializedError> {
  const record = await p.records.get(jobId);
  const earlier = (record?.hops ?? []).filter((h) => h.error).map((h) => ({ target: h.target, message: h.error?.message ?? '' }));
  return serializeError(new ChainExhaustedError([...earlier, { target, message: last.message }]));
}

async function retryPinned(p: Pipeline, payload: HopPayload, error: SerializedError): Promise<RerouteOutcome> {
  const attempt = (payload.attempt ?? 0) + 1;
  const delayMs = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
  const retryAt = Date.now() + delayMs;
  if (retryAt < (payload.retryUntil ?? 0)) {
    if (!(await p.records.retryHop(payload.jobId, payload.hop, error, attempt, retryAt))) return 'moved-on';
    await retryLater(p, { ...payload, attempt }, delayMs);
    return 'retrying';
  }
  const final = serializeError(
    new ProviderError(error.code === 'provider_timeout' ? 'provider_timeout' : 'provider_unavailable', `${payload.target.id} still failed when its batch's completion window closed (${attempt} tries; pinned to this model, so no other was asked): ${error.message}`, {
      provider: payload.target.provider,
      target: payload.target.id,
    }),
  );
  return (await p.records.fail(payload.jobId, payload.hop, final, error)) ? 'failed' : 'moved-on';
}

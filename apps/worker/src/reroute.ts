import { ChainExhaustedError, type SerializedError, serializeError } from '@mana/errors';
import { type HopPayload, type Pipeline, countFallback, dispatchHop, partialAnswerError } from '@mana/jobs';

export type RerouteOutcome = 'rerouted' | 'failed' | 'moved-on';

/**
 * After a hop failed: a failure another target may not share (unavailable,
 * timeout, rate limit, model missing, our bad key) moves the job to its next
 * target; a client error, or the end of the chain, fails the job with every
 * hop's error listed. A client that already holds part of this hop's
 * streamed answer cannot be given another target's: that job fails.
 */
export async function reroute(p: Pipeline, payload: HopPayload, err: unknown): Promise<RerouteOutcome> {
  const error = serializeError(err);
  const next = p.options.autoFallbackEnabled ? payload.chain[payload.hop + 1] : undefined;
  if (error.retryable && next) {
    const moved = await p.records.advanceHop(payload.jobId, payload.hop, { status: 'failed', error }, { target: next, reason: 'failover' });
    if (moved === 'held') return (await p.records.fail(payload.jobId, payload.hop, partialAnswerError(payload.target.id, error.message), error)) ? 'failed' : 'moved-on';
    if (moved === 'over') return 'moved-on';
    countFallback(p, payload.target, next, 'failover');
    await dispatchHop(p, { ...payload, hop: payload.hop + 1, target: next });
    return 'rerouted';
  }
  const final = error.retryable && payload.hop > 0 ? await exhausted(p, payload.jobId, payload.target.id, error) : error;
  return (await p.records.fail(payload.jobId, payload.hop, final, error)) ? 'failed' : 'moved-on';
}

async function exhausted(p: Pipeline, jobId: string, target: string, last: SerializedError): Promise<SerializedError> {
  const record = await p.records.get(jobId);
  const earlier = (record?.hops ?? []).filter((h) => h.error).map((h) => ({ target: h.target, message: h.error?.message ?? '' }));
  return serializeError(new ChainExhaustedError([...earlier, { target, message: last.message }]));
}

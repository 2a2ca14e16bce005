import { ChainExhaustedError, type SerializedError, serializeError } from '@mana/errors';
import { type Decision, type JobView, type RoutingEvent, decide } from '@mana/routing';
import { countFallback, dispatchHop, enqueueMany, retryLater } from './dispatch.js';
import type { HopPayload } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import { partialAnswerError } from './record.js';

/**
 * How carrying out a decision went: `moved-on` means another actor (a
 * cancel, a spill, a duplicate delivery) had already moved or finished the
 * job, so this one did nothing.
 */
export type RouteOutcome = 'queued' | 'rerouted' | 'retrying' | 'failed' | 'stayed' | 'moved-on';

export function jobView(payload: HopPayload): JobView {
  return {
    chain: payload.chain,
    hop: payload.hop,
    maxWaitMs: payload.maxWaitMs,
    retryUntil: payload.retryUntil,
    attempt: payload.attempt,
    continues: payload.continuation?.text.length,
  };
}

/** Asks the routing core what to do after `event`, and does it. */
export async function route(p: Pipeline, payload: HopPayload, event: RoutingEvent, streamedText?: string): Promise<{ decision: Decision; outcome: RouteOutcome }> {
  const decision = decide(jobView(payload), event, { autoFallback: p.options.autoFallbackEnabled, transientRetryMs: p.options.transientRetryMs });
  return { decision, outcome: await carryOut(p, payload, decision, streamedText) };
}

/**
 * After a hop failed: the provider's error is counted, then routed.
 * `streamedText` is the answer readers hold so far (an earlier hop's
 * included), when the hop was streamed: the next target continues it.
 */
export async function routeFailure(p: Pipeline, payload: HopPayload, err: unknown, streamedText?: string): Promise<{ decision: Decision; outcome: RouteOutcome }> {
  const error = serializeError(err);
  void p.stats.providerError(payload.target.provider, error.code).catch(() => {});
  const streamed = streamedText !== undefined && streamedText.length > (payload.continuation?.text.length ?? 0);
  return route(p, payload, { type: 'hop-failed', error, now: Date.now(), jitter: Math.random(), streamed }, streamedText);
}

/**
 * The one place a decision becomes Redis state, through the job record's
 * checked transitions: a hop moves on only if it is still the job's current
 * hop, so of two actors racing (a spill and a worker, two deliveries) one
 * moves it and the other is told `moved-on`. Readers that already hold part
 * of a streamed answer keep it: the next target is asked to continue that
 * text (`streamedText`, or the continuation this hop itself was carrying).
 * Where no actor knows the text (a stalled-out worker's), a waiting client
 * cannot be given a fresh answer on top of it: that job fails ('held').
 */
export async function carryOut(p: Pipeline, payload: HopPayload, decision: Decision, streamedText?: string): Promise<RouteOutcome> {
  switch (decision.action) {
    case 'queue':
      await enqueueMany(p, [payload]);
      return 'queued';
    case 'move-on': {
      const next = payload.chain[payload.hop + 1];
      if (!next) throw new Error(`job ${payload.jobId} has no hop after ${payload.hop}`);
      const text = streamedText || payload.continuation?.text;
      const continuation = text ? { text } : undefined;
      const moved = await p.records.advanceHop(
        payload.jobId,
        payload.hop,
        { status: decision.status, error: decision.error },
        { target: next, reason: decision.reason, continues: text?.length },
      );
      if (moved === 'held') {
        const failed = await p.records.fail(payload.jobId, payload.hop, partialAnswerError(payload.target.id, decision.error.message), decision.error);
        return failed ? 'failed' : 'moved-on';
      }
      if (moved === 'over') return 'moved-on';
      countFallback(p, payload.target, next, decision.reason);
      // Too long for this model: the next ones that can only say the same are passed over (prompt-size.ts).
      const needsLongContext = payload.needsLongContext ?? (decision.error.code === 'context_length_exceeded' ? true : undefined);
      await dispatchHop(p, { ...payload, hop: payload.hop + 1, target: next, attempt: undefined, continuation, needsLongContext });
      return 'rerouted';
    }
    case 'retry': {
      const retryAt = Date.now() + decision.delayMs;
      if (!(await p.records.retryHop(payload.jobId, payload.hop, decision.error, decision.attempt, retryAt))) return 'moved-on';
      await retryLater(p, { ...payload, attempt: decision.attempt }, decision.delayMs);
      return 'retrying';
    }
    case 'fail': {
      const final = decision.exhausted ? await exhausted(p, payload, decision.error) : decision.error;
      return (await p.records.fail(payload.jobId, payload.hop, final, decision.error)) ? 'failed' : 'moved-on';
    }
    case 'stay':
      return 'stayed';
  }
}

async function exhausted(p: Pipeline, payload: HopPayload, last: SerializedError): Promise<SerializedError> {
  const record = await p.records.get(payload.jobId);
  const earlier = (record?.hops ?? []).filter((h) => h.error && h.hop < payload.hop).map((h) => ({ target: h.target, message: h.error?.message ?? '' }));
  return serializeError(new ChainExhaustedError([...earlier, { target: payload.target.id, message: last.message }]));
}

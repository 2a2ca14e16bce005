import type { Target } from '@mana/aliases';
import type { ProviderId } from '@mana/config';
import { ManaError, ProviderError, serializeError } from '@mana/errors';
import { availability } from './availability.js';
import { hopJobId } from './keys.js';
import { estimateOllamaWaitMs } from './overflow.js';
import { BULLMQ_PRIORITY, type HopPayload, HopPayloadSchema } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import type { HopReason } from './record.js';

export type DispatchOutcome =
  | { queued: true; hop: number; target: Target }
  /** Someone else moved or finished the job first; nothing was queued. */
  | { queued: false };

/**
 * Queues hop `payload.hop` of a job, or the first later hop whose target can
 * take it: targets whose provider is down (health cache, breakers, no key)
 * are skipped, and an Ollama target whose backlog would keep the job waiting
 * past its tolerance is passed over for the next target (overflow). The last
 * target is always queued, so a job either runs somewhere or fails there
 * with the provider's own reason.
 */
export async function dispatchHop(p: Pipeline, payload: HopPayload): Promise<DispatchOutcome> {
  let hop = payload.hop;
  for (;;) {
    const target = payload.chain[hop];
    if (!target) throw new Error(`job ${payload.jobId} has no hop ${hop}`);
    const next = p.options.autoFallbackEnabled ? payload.chain[hop + 1] : undefined;
    const passOver = next ? await reasonToPassOver(p, payload, target) : undefined;
    if (!passOver || !next) {
      await enqueue(p, { ...payload, hop, target });
      return { queued: true, hop, target };
    }
    const moved = await p.records.advanceHop(
      payload.jobId,
      hop,
      { status: passOver.reason === 'overflow' ? 'spilled' : 'skipped', error: passOver.error },
      { target: next, reason: passOver.reason },
    );
    // Not yet started, so no client can hold part of its answer: 'held' cannot happen here.
    if (moved !== 'moved') return { queued: false };
    countFallback(p, target, next, passOver.reason);
    hop++;
  }
}

export async function reasonToPassOver(
  p: Pipeline,
  payload: HopPayload,
  target: Target,
): Promise<{ reason: HopReason; error: ReturnType<typeof serializeError> } | undefined> {
  const available = await availability(p, target);
  if (!available.ok) {
    const error = new ProviderError('provider_unavailable', `${target.id} skipped: ${available.reason}`, { provider: target.provider, target: target.id });
    return { reason: 'failover', error: serializeError(error) };
  }
  if (target.provider === 'ollama' && payload.maxWaitMs !== null) {
    const waitMs = await estimateOllamaWaitMs(p, payload.priority);
    if (waitMs > payload.maxWaitMs) {
      const error = new ManaError('provider_unavailable', `${target.id} passed over: estimated wait ${waitMs} ms exceeds the tolerance of ${payload.maxWaitMs} ms`);
      return { reason: 'overflow', error: serializeError(error) };
    }
  }
  return undefined;
}

async function enqueue(p: Pipeline, payload: HopPayload): Promise<void> {
  await enqueueMany(p, payload.target.provider, [payload]);
}

/** Adds hops (all for one provider) to its queue in one go, and indexes the ones that may spill. */
export async function enqueueMany(p: Pipeline, provider: ProviderId, payloads: readonly HopPayload[]): Promise<void> {
  // One payload is checked against the schema (a job from any path); a bulk of them comes from
  // submitMany, built from requests already validated line by line, so parsing each again is skipped.
  const data = payloads.length === 1 ? [HopPayloadSchema.parse(payloads[0])] : payloads;
  const queue = p.queues.get(provider);
  const jobs = data.map((d) => ({ name: d.work.kind, data: d, opts: { jobId: hopJobId(d.jobId, d.hop), priority: BULLMQ_PRIORITY[d.priority] } }));
  if (jobs.length === 1) await queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
  else await queue.addBulk(jobs);
  // A waiting Ollama hop may later spill to its next target once it has waited past its tolerance.
  const spillable = data.filter((d) => d.target.provider === 'ollama' && d.maxWaitMs !== null && p.options.autoFallbackEnabled && d.chain[d.hop + 1]);
  if (spillable.length === 0) return;
  const now = Date.now();
  await p.redis.zadd(p.keys.spillIndex(), ...spillable.flatMap((d) => [now + (d.maxWaitMs ?? 0), hopJobId(d.jobId, d.hop)]));
}

/** A pinned hop's next try on the same target, after `delayMs` (see HopPayload.retryUntil). */
export async function retryLater(p: Pipeline, payload: HopPayload, delayMs: number): Promise<void> {
  const data = HopPayloadSchema.parse(payload);
  const id = `${hopJobId(data.jobId, data.hop)}.r${data.attempt ?? 0}`;
  await p.queues.get(data.target.provider).add(data.work.kind, data, { jobId: id, priority: BULLMQ_PRIORITY[data.priority], delay: delayMs });
}

export function countFallback(p: Pipeline, from: Target, to: Target, reason: HopReason): void {
  void p.redis.hincrby(p.keys.fallbackCounters(), `${from.id}>${to.id}>${reason}`, 1).catch(() => {});
}

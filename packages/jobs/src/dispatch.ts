import type { Target } from '@mana/aliases';
import { isLocalProvider } from '@mana/config';
import { type Decision, type TargetState, decide } from '@mana/routing';
import { fleetKnows, fleetModels, holdersOf } from './fleet.js';
import { hopJobId } from './keys.js';
import { estimateLocalWaitMs } from './overflow.js';
import type { Queue } from 'bullmq';
import { type HopPayload, HopPayloadSchema } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import type { HopReason } from './record.js';
import type { FairTags } from './fair-share.js';
import { carryOut, jobView } from './route.js';
import { unfitReason } from './prompt-size.js';
import { announceLocalWork } from './local-work-wake.js';

export type DispatchOutcome =
  | { queued: true; hop: number; target: Target }
  /** The job moved on and was queued further down its chain, failed, or someone else moved it first. */
  | { queued: false };

/**
 * Queues hop `payload.hop` of a job, or routes it on: what dispatch knows of
 * the target (health, breakers, keys, which GPUs have the model, the wait on
 * them) goes to the routing core, whose decision is carried out; a job that
 * moves on is dispatched again at its next hop. `decided` is the decision
 * when the caller started reading it earlier (submitJob reads it while the
 * job's record is written: neither needs the other).
 */
export async function dispatchHop(p: Pipeline, payload: HopPayload, decided?: Promise<Decision>, tagged?: Promise<FairTags>): Promise<DispatchOutcome> {
  const decision = await (decided ?? dispatchDecision(p, payload));
  if (tagged) {
    const tags = await tagged;
    if (decision.action === 'queue') {
      await enqueueMany(p, [payload], tags.priorities);
      return { queued: true, hop: payload.hop, target: payload.target };
    }
    // Not waited for, and its failure is not the job's: at worst the tenant's share is off by one hop.
    void tags.release().catch(() => {});
  }
  const outcome = await carryOut(p, payload, decision);
  return outcome === 'queued' ? { queued: true, hop: payload.hop, target: payload.target } : { queued: false };
}

export async function dispatchDecision(p: Pipeline, payload: HopPayload): Promise<Decision> {
  const canMove = p.options.autoFallbackEnabled && payload.chain[payload.hop + 1] !== undefined;
  return decide(jobView(payload), { type: 'dispatch', target: await targetState(p, payload, canMove) }, { autoFallback: p.options.autoFallbackEnabled });
}

/** What shared state says of a hop's target now; no provider is called to find out. */
export async function targetState(p: Pipeline, payload: HopPayload, canMove: boolean): Promise<TargetState> {
  const { target } = payload;
  const unfit = unfitReason(payload);
  if (unfit) return { state: 'unfit', reason: unfit };
  if (isLocalProvider(target.provider)) {
    const fleet = await p.cache.fleet.get();
    if (!fleetKnows(fleet, target.model)) {
      const has = fleetModels(fleet);
      return { state: 'missing', reason: `no GPU has ${target.model} (the GPUs have: ${has.length > 0 ? has.join(', ') : 'no models'})` };
    }
    if (holdersOf(fleet, target.model).length === 0) return { state: 'unavailable', reason: `every GPU server with ${target.model} is down or drained` };
    // The estimate costs reads; only a job that could move on for it pays them.
    if (!canMove || payload.maxWaitMs === null) return { state: 'ready' };
    return { state: 'backlogged', waitMs: await estimateLocalWaitMs(p, target.model, payload.priority) };
  }
  if (!p.options.isConfigured(target.provider)) return { state: 'unavailable', reason: `${target.provider} has no API key configured` };
  const breaker = await p.health.breaker(target.provider);
  if (breaker.open) return { state: 'unavailable', reason: `${target.provider} circuit breaker is open: ${breaker.reason ?? 'repeated failures'}` };
  if (breaker.throttledUntil)
    return { state: 'unavailable', reason: `${target.provider} is rate limiting us for ${Math.ceil((breaker.throttledUntil - Date.now()) / 1000)} s more` };
  return { state: 'ready' };
}

/**
 * A hop's fair-share tag in its target's queue, taken before its dispatch
 * decision is known (submitJob takes it while the record is written and the
 * decision read: one round trip less before BullMQ's add). dispatchHop uses
 * it if the hop is queued there, and gives it back if the hop goes elsewhere.
 */
export function tagEarly(p: Pipeline, payload: HopPayload): Promise<FairTags> | undefined {
  // Only in a queue this process has used: a model a client made up gets no queue, nor clocks in Redis.
  const queue = p.queues.used(payload.target);
  return queue && p.fair.take(queue, payload.priority, payload.tenant, 1, payload.weight);
}

/** Adds hops (all for one target's queue) in one go; a local hop also wakes its GPUs and may later spill. `tagged`: their fair-share priorities, if taken already. */
export async function enqueueMany(p: Pipeline, data: readonly HopPayload[], tagged?: readonly number[]): Promise<void> {
  // Not parsed against HopPayloadSchema here: every payload is built by typed code from a request
  // already validated, and the worker checks each one when it takes it (run-hop), where a payload
  // queued by another version could differ. Parsing here too cost measurable CPU per request.
  const first = data[0];
  if (!first) return;
  const local = isLocalProvider(first.target.provider);
  if (local) await p.queues.registerLocal(first.target.model);
  const queue = p.queues.forTarget(first.target);
  const priorities = tagged ?? (await fairPriorities(p, queue, data));
  const jobs = data.map((d, i) => ({ name: d.work.kind, data: d, opts: { jobId: hopJobId(d.jobId, d.hop), priority: priorities[i]! } }));
  const added = jobs.length === 1 ? queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts) : queue.addBulk(jobs);
  if (!local) {
    await added;
    return;
  }
  // A waiting local hop may later spill to its next target once it has waited past its tolerance.
  // Indexed with the others of the next moments (the index is read seconds later, and a spill
  // checks the job's state); a hop that starts first in this process is never indexed.
  const now = Date.now();
  for (const d of data) {
    if (d.maxWaitMs !== null && p.options.autoFallbackEnabled && d.chain[d.hop + 1]) p.spillIndex.add(d.target.model, hopJobId(d.jobId, d.hop), now + (d.maxWaitMs ?? 0));
  }
  await added;
  // Only once the hop is in its queue: a GPU woken earlier would find it empty.
  await announceLocalWork(p.redis, p.keys.localWorkChannel(), first.target.model, data.length);
}

/** A pinned hop's next try on the same target, after `delayMs` (see HopPayload.retryUntil). */
export async function retryLater(p: Pipeline, payload: HopPayload, delayMs: number): Promise<void> {
  const data = HopPayloadSchema.parse(payload);
  const id = `${hopJobId(data.jobId, data.hop)}.r${data.attempt ?? 0}`;
  const queue = p.queues.forTarget(data.target);
  const [priority] = await fairPriorities(p, queue, [data]);
  await queue.add(data.work.kind, data, { jobId: id, priority: priority!, delay: delayMs });
}

/** Each hop's BullMQ priority, in order: its class's, placed by its tenant's fair share (hops of a bulk are grouped by class and tenant). */
async function fairPriorities(p: Pipeline, queue: Queue, data: readonly HopPayload[]): Promise<number[]> {
  const groups = new Map<string, number[]>();
  data.forEach((d, i) => {
    const key = `${d.priority}|${d.tenant ?? ''}|${d.weight ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const priorities = new Array<number>(data.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const first = data[indexes[0]!]!;
      const tagged = await p.fair.priorities(queue, first.priority, first.tenant, indexes.length, first.weight);
      indexes.forEach((index, k) => (priorities[index] = tagged[k]!));
    }),
  );
  return priorities;
}

export function countFallback(p: Pipeline, from: Target, to: Target, reason: HopReason): void {
  void p.redis.hincrby(p.keys.fallbackCounters(), `${from.id}>${to.id}>${reason}`, 1).catch(() => {});
}

import type { Job, Queue } from 'bullmq';
import type { RoutingEvent } from '@mana/routing';
import { fleetKnows, holdersOf } from './fleet.js';
import { HopPayloadSchema } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import { route } from './route.js';
import { parseSpillMember } from './spill-index.js';

export interface SpillReport {
  /** Hops moved to their next target because they waited past their tolerance. */
  overflowed: number;
  /** Hops moved because no usable GPU has their model. */
  failedOver: number;
}

const WAITING = ['waiting', 'prioritized', 'delayed'] as const;

/**
 * One pass of the spill loop. A waiting local hop moves to its next target
 * when it has waited past its tolerance, or when no usable GPU has its model
 * (every server with it down or drained). The move happens only if BullMQ
 * removes the hop while it is still waiting (removal fails once a worker has
 * locked it), so a hop either runs on its GPU or spills — never both, never
 * twice, and never lost in between.
 */
export async function spillOnce(p: Pipeline, now = Date.now(), batch = 100): Promise<SpillReport> {
  const report: SpillReport = { overflowed: 0, failedOver: 0 };
  if (!p.options.autoFallbackEnabled) return report;
  const due = await p.redis.zrangebyscore(p.keys.spillIndex(), '-inf', now, 'LIMIT', 0, batch);
  for (const member of due) {
    // Whoever removes the index entry owns this spill attempt.
    if ((await p.redis.zrem(p.keys.spillIndex(), member)) !== 1) continue;
    const entry = parseSpillMember(member);
    const job = entry ? await p.queues.local(entry.model).getJob(entry.hopId) : undefined;
    if (
      job &&
      entry &&
      (await spillWaitingHop(p, p.queues.local(entry.model), job, { type: 'waited-too-long', because: `waited past its tolerance of ${toleranceOf(job)} ms for a GPU` }))
    ) {
      report.overflowed++;
    }
  }
  const fleet = await p.cache.fleet.get();
  for (const model of await p.queues.localModels()) {
    if (holdersOf(fleet, model).length > 0) continue;
    const because = fleetKnows(fleet, model) ? `every GPU server with ${model} is down or drained` : `no GPU has ${model} any more`;
    const queue = p.queues.local(model);
    for (const job of await queue.getJobs([...WAITING], 0, batch - 1)) {
      if (await spillWaitingHop(p, queue, job, { type: 'no-usable-gpu', because })) report.failedOver++;
    }
  }
  return report;
}

function toleranceOf(job: Job): number | null {
  return (job.data as { maxWaitMs?: number | null }).maxWaitMs ?? null;
}

/**
 * Moves a waiting local hop on as the routing core decides, exactly once:
 * false when it stays (no next target), is no longer waiting, or someone
 * else moved it first.
 */
export async function spillWaitingHop(p: Pipeline, queue: Queue, job: Job, event: Extract<RoutingEvent, { type: 'waited-too-long' | 'no-usable-gpu' }>): Promise<boolean> {
  const parsed = HopPayloadSchema.safeParse(job.data);
  if (!parsed.success || !job.id) return false;
  const payload = parsed.data;
  if (!payload.chain[payload.hop + 1] || !p.options.autoFallbackEnabled) return false;
  // Only a waiting hop moves on. Removal is atomic and refuses a locked (running) job: this
  // is the once-only gate; the state check keeps finished hops in BullMQ's history.
  if (!(WAITING as readonly string[]).includes(await job.getState())) return false;
  if ((await queue.remove(job.id)) !== 1) return false;
  const { outcome } = await route(p, payload, event);
  return outcome === 'rerouted' || outcome === 'failed';
}

import { serializeError, ManaError } from '@mana/errors';
import type { Job } from 'bullmq';
import { countFallback, dispatchHop } from './dispatch.js';
import { HopPayloadSchema } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import { usableGpus } from './availability.js';
import { partialAnswerError } from './record.js';

export interface SpillReport {
  /** Hops moved to their next target because they waited past their tolerance. */
  overflowed: number;
  /** Hops moved because no GPU could take them. */
  failedOver: number;
}

/**
 * One pass of the spill loop. A waiting Ollama hop moves to its next target
 * when it has waited past its tolerance, or when every GPU is down. The move
 * happens only if BullMQ removes the hop while it is still waiting (removal
 * fails once a worker has locked it), so a hop either runs on its GPU or
 * spills — never both, never twice, and never lost in between.
 */
export async function spillOnce(p: Pipeline, now = Date.now(), batch = 100): Promise<SpillReport> {
  const report: SpillReport = { overflowed: 0, failedOver: 0 };
  if (!p.options.autoFallbackEnabled) return report;
  const due = await p.redis.zrangebyscore(p.keys.spillIndex(), '-inf', now, 'LIMIT', 0, batch);
  for (const id of due) {
    // Whoever removes the index entry owns this spill attempt.
    if ((await p.redis.zrem(p.keys.spillIndex(), id)) !== 1) continue;
    const job = await p.queues.get('ollama').getJob(id);
    if (job && (await spillWaitingHop(p, job, 'overflow'))) report.overflowed++;
  }
  if ((await usableGpus(p)).length === 0) {
    const waiting = await p.queues.get('ollama').getJobs(['prioritized', 'waiting', 'delayed'], 0, batch - 1);
    for (const job of waiting) if (await spillWaitingHop(p, job, 'failover')) report.failedOver++;
  }
  return report;
}

/**
 * Moves a waiting Ollama hop to its next target, exactly once: false when it
 * has no next target, is no longer waiting, or someone else moved it first.
 * `why` says what the hop was waiting too long for (default: by reason).
 */
export async function spillWaitingHop(p: Pipeline, job: Job, reason: 'overflow' | 'failover', because?: string): Promise<boolean> {
  const parsed = HopPayloadSchema.safeParse(job.data);
  if (!parsed.success || !job.id) return false;
  const payload = parsed.data;
  const next = payload.chain[payload.hop + 1];
  if (!next) return false;
  // Only a waiting hop moves on. Removal is atomic and refuses a locked (running) job: this
  // is the once-only gate; the state check keeps finished hops in BullMQ's history.
  if (!['waiting', 'prioritized', 'delayed'].includes(await job.getState())) return false;
  if ((await p.queues.get('ollama').remove(job.id)) !== 1) return false;
  const why =
    because ??
    (reason === 'overflow' ? `waited past its tolerance of ${payload.maxWaitMs} ms for a GPU` : 'every GPU server is down or drained');
  const moved = await p.records.advanceHop(
    payload.jobId,
    payload.hop,
    { status: reason === 'overflow' ? 'spilled' : 'skipped', error: serializeError(new ManaError('provider_unavailable', `${payload.target.id} ${why}`)) },
    { target: next, reason },
  );
  if (moved === 'held') {
    // A re-queued hop (its worker died mid-stream) whose client holds part of the answer.
    await p.records.fail(payload.jobId, payload.hop, partialAnswerError(payload.target.id, why));
    return true;
  }
  if (moved === 'over') return false;
  countFallback(p, payload.target, next, reason);
  await dispatchHop(p, { ...payload, hop: payload.hop + 1, target: next });
  return true;
}

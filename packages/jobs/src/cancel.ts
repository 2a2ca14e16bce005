import { hopJobId } from './keys.js';
import type { Pipeline } from './pipeline.js';
import { parseTarget } from '@mana/aliases';

/**
 * Cancels a job: a waiting hop is removed from its queue; a running one is
 * aborted by the worker that holds it (told over the cancel channel).
 * False when the job had already finished.
 */
export async function cancelJob(p: Pipeline, jobId: string): Promise<boolean> {
  if (!(await p.records.cancel(jobId))) return false;
  const record = await p.records.get(jobId);
  const targetId = record?.chain[record.hop];
  const target = targetId ? parseTarget(targetId) : undefined;
  if (!record || !target?.ok) return true;
  // A pinned hop waiting to be tried again is queued under its retry's id.
  const retries = record.hops[record.hop]?.retries;
  const queued = hopJobId(jobId, record.hop) + (retries ? `.r${retries}` : '');
  await p.queues.forTarget(target.target).remove(queued);
  return true;
}

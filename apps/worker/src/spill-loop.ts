import { type Pipeline, batchPass, moveSharedQueue, spillOnce } from '@mana/jobs';
import type { Logger } from '@mana/logging';

/** During a rolling upgrade, API processes of the version before per-model queues may still queue GPU hops in the shared queue: looked at this often. */
const SHARED_QUEUE_EVERY_PASSES = 20;

/** Runs the spill pass and the batch pass (reconcile, completion windows) a few times a second; passes never overlap within a process. */
export function startSpillLoop(pipeline: Pipeline, everyMs: number, log: Logger): () => void {
  let running = false;
  let passes = 0;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    spillOnce(pipeline)
      .then(async (report) => {
        if (++passes % SHARED_QUEUE_EVERY_PASSES === 0) {
          const moved = await moveSharedQueue(pipeline);
          if (moved > 0) log.info({ moved }, "moved hops queued in the old shared GPU queue to their models' queues");
        }
        if (report.overflowed + report.failedOver > 0) log.info(report, 'spilled waiting GPU jobs to their next targets');
        const batches = await batchPass(pipeline);
        if (batches.spilled > 0) log.info(batches, 'spilled batch items that the GPUs cannot finish within their completion window');
        if (batches.reconciled > 0) log.warn(batches, 'wrote out batch items that had finished without being accounted (a process died in between)');
      })
      .catch((err: unknown) => log.error({ err }, 'spill pass failed'))
      .finally(() => (running = false));
  }, everyMs);
  return () => clearInterval(timer);
}

import { type Pipeline, batchPass, spillOnce } from '@mana/jobs';
import type { Logger } from '@mana/logging';

/** Runs the spill pass and the batch pass (reconcile, completion windows) a few times a second; passes never overlap within a process. */
export function startSpillLoop(pipeline: Pipeline, everyMs: number, log: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    spillOnce(pipeline)
      .then(async (report) => {
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

import { type Pipeline, spillForCompletionWindows, spillOnce } from '@mana/jobs';
import type { Logger } from '@mana/logging';

/** Runs the spill passes (waiting jobs, then batch windows) a few times a second; passes never overlap within a process. */
export function startSpillLoop(pipeline: Pipeline, everyMs: number, log: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    spillOnce(pipeline)
      .then(async (report) => {
        if (report.overflowed + report.failedOver > 0) log.info(report, 'spilled waiting GPU jobs to their next targets');
        const windows = await spillForCompletionWindows(pipeline);
        if (windows.spilled > 0) log.info(windows, 'spilled batch items that the GPUs cannot finish within their completion window');
      })
      .catch((err: unknown) => log.error({ err }, 'spill pass failed'))
      .finally(() => (running = false));
  }, everyMs);
  return () => clearInterval(timer);
}

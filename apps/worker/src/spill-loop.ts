import { type Pipeline, spillOnce } from '@mana/jobs';
import type { Logger } from '@mana/logging';

/** Runs the spill pass a few times a second; passes never overlap within a process. */
export function startSpillLoop(pipeline: Pipeline, everyMs: number, log: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    spillOnce(pipeline)
      .then((report) => {
        if (report.overflowed + report.failedOver > 0) log.info(report, 'spilled waiting GPU jobs to their next targets');
      })
      .catch((err: unknown) => log.error({ err }, 'spill pass failed'))
      .finally(() => (running = false));
  }, everyMs);
  return () => clearInterval(timer);
}

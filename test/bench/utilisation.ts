import type { BenchEnv } from './env.js';
import { chatCaller, closedLoop, startEmulatedGpus, table } from './lib.js';

/**
 * GPU utilisation under saturating load: emulated GPUs with a fixed service
 * time, interactive requests (default tolerance), four times more in flight
 * than there are slots. Utilisation is the emulators' own busy-slot time over
 * slots × wall time; every spill is counted (none should happen while the
 * backlog stays within tolerance).
 */
export async function benchUtilisation(bench: BenchEnv): Promise<void> {
  const rows = [await measure(bench, 'defaults'), await measure(bench, 'MANA_GPU_ON_DECK=true', { MANA_GPU_ON_DECK: 'true' })];
  table(
    `GPU utilisation — fixed ${SERVICE_MS} ms service time, ${GPUS} GPUs × ${CAP} slots, ${GPUS * CAP * 4} in flight, steady state (goal: ≥ 99 %, zero spilled)`,
    [
      'gateway',
      'jobs measured',
      'window s',
      'busy-slot s',
      'utilisation %',
      'idle ms per job',
      'max in flight per GPU',
      'max generating per GPU',
      'spilled (overflow)',
      'served by Gemini',
    ],
    rows,
  );
}

const GPUS = 2;
const CAP = 2;
// A short generation for an LLM; the per-job turnaround is reported too, so the result reads for any length.
const SERVICE_MS = 250;

async function measure(bench: BenchEnv, name: string, env: Record<string, string> = {}): Promise<Array<string | number>> {
  const [gpus, cap, serviceMs] = [GPUS, CAP, SERVICE_MS];
  const { emulators, gemini, gateway, stop } = await startEmulatedGpus(bench, gpus, cap, serviceMs, env);
  try {
    const call = chatCaller(gateway.url, 'mana/fast-text', 'work');
    await closedLoop(40, 8, call);
    for (const e of emulators) e.stats.reset();
    const count = 240;
    // Steady state: measure between the 10th and 90th percentile of completions, so filling
    // the slots at the start and draining them at the end do not count as idle GPU time.
    const busyNow = () => emulators.reduce((sum, e) => sum + e.stats.snapshot().busySlotMs, 0);
    const marks: Array<{ at: number; busy: number }> = [];
    let done = 0;
    await closedLoop(count, gpus * cap * 4, async () => {
      await call();
      done++;
      if (done === Math.round(count * 0.1) || done === Math.round(count * 0.9)) marks.push({ at: performance.now(), busy: busyNow() });
    });
    const [from, to] = marks as [{ at: number; busy: number }, { at: number; busy: number }];
    const windowMs = to.at - from.at;
    const busyMs = to.busy - from.busy;
    const jobs = Math.round(count * 0.8);
    const maxInFlight = Math.max(...emulators.map((e) => e.stats.snapshot().maxInFlight));
    const maxGenerating = Math.max(...emulators.map((e) => e.stats.snapshot().maxBusySlots));
    const status = (await (await fetch(`${gateway.url}/status`)).json()) as { fallbacks: Record<string, number> };
    const spilled = Object.entries(status.fallbacks)
      .filter(([k]) => k.endsWith('>overflow'))
      .reduce((n, [, v]) => n + v, 0);
    // Idle slot time per job: what the gateway costs between one generation and the next.
    const gapMs = (gpus * cap * windowMs - busyMs) / jobs;
    return [name, jobs, windowMs / 1000, busyMs / 1000, (100 * busyMs) / (gpus * cap * windowMs), gapMs, maxInFlight, maxGenerating, spilled, gemini.stats.snapshot().total];
  } finally {
    await stop();
  }
}

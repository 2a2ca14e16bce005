import { availableParallelism } from 'node:os';
import { startOllamaEmulator } from '@mana/emulators';
import type { BenchEnv } from './env.js';
import { type Gateway, chatCaller, closedLoop, median, startApiProcess, startWorkerProcess, table } from './lib.js';

/**
 * Whether API processes scale out: sync chats at 50 in flight (zero-latency
 * emulated GPU) through one API process and through two (requests spread
 * round-robin), with one worker process behind either, in rounds
 * interleaved on the same Redis. On a box with fewer cores than processes
 * the second API process competes with the first for CPU: read the ratio
 * with the core count beside it.
 */
export async function benchScale(bench: BenchEnv): Promise<void> {
  const count = 3000;
  const rounds = 3;
  const gpu = await startOllamaEmulator({ slots: 256 });
  const setups: Array<{ apis: number; processes: Gateway[]; calls: Array<() => Promise<void>> }> = [];
  try {
    for (const apis of [1, 2]) {
      const env = bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' });
      const worker = await startWorkerProcess(env);
      const servers = await Promise.all(Array.from({ length: apis }, () => startApiProcess(env)));
      setups.push({ apis, processes: [worker, ...servers], calls: servers.map((s) => chatCaller(s.url, 'ollama/gemma3:4b', 'ping')) });
    }
    const rates = new Map<number, number[]>(setups.map((s) => [s.apis, []]));
    for (const setup of setups) await closedLoop(500, 50, (i) => setup.calls[i % setup.calls.length]!());
    for (let round = 0; round < rounds; round++) {
      for (const setup of setups) {
        const { wallMs } = await closedLoop(count, 50, (i) => setup.calls[i % setup.calls.length]!());
        rates.get(setup.apis)!.push(count / (wallMs / 1000));
      }
    }
    const one = median(rates.get(1)!);
    table(
      `Scaling out: one worker process and 1 or 2 API processes, 50 in flight, ${rounds} interleaved rounds, medians (goal: two API processes give more than one), ${availableParallelism()} cores`,
      ['API processes', 'req/s', 'vs one'],
      [...rates.entries()].map(([apis, r]) => [apis, median(r), median(r) / one]),
    );
  } finally {
    for (const setup of setups) for (const p of setup.processes) await p.stop();
    await gpu.close();
  }
}

import { availableParallelism } from 'node:os';
import { startOllamaEmulator } from '@mana/emulators';
import { cpuPer, redisPid } from './cpu.js';
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
    // CPU per request, ms, each round: [worker, the API processes together, Redis, this process (clients, emulator)].
    const cpu = new Map<number, Array<Array<number | undefined>>>(setups.map((s) => [s.apis, []]));
    const redis = await redisPid(bench.redisUrl);
    for (const setup of setups) await closedLoop(500, 50, (i) => setup.calls[i % setup.calls.length]!());
    for (let round = 0; round < rounds; round++) {
      for (const setup of setups) {
        const pids = [...setup.processes.map((p) => p.pid), redis, process.pid];
        const { result, perUnit } = await cpuPer(pids, count, () => closedLoop(count, 50, (i) => setup.calls[i % setup.calls.length]!()));
        rates.get(setup.apis)!.push(count / (result.wallMs / 1000));
        const [worker, ...rest] = perUnit;
        const apis = rest.slice(0, setup.apis);
        cpu.get(setup.apis)!.push([worker, apis.some((v) => v === undefined) ? undefined : apis.reduce((a, b) => a! + b!, 0), ...rest.slice(setup.apis)]);
      }
    }
    const one = median(rates.get(1)!);
    table(
      `Scaling out: one worker process and 1 or 2 API processes, 50 in flight, ${rounds} interleaved rounds, medians (goal: two API processes give more than one), ${availableParallelism()} cores`,
      ['API processes', 'req/s', 'vs one'],
      [...rates.entries()].map(([apis, r]) => [String(apis), median(r), median(r) / one]),
    );
    if (cpu.get(1)![0]!.every((v) => v === undefined)) return; // no /proc here
    // Where the cores go: once they are all busy, a second API process only adds its own cost per request.
    const of = (apis: number, i: number) => {
      const values = cpu
        .get(apis)!
        .map((c) => c[i])
        .filter((v): v is number => v !== undefined);
      return values.length === 0 ? undefined : median(values);
    };
    table(
      `CPU per request, ms (medians of the rounds), and the cores it keeps busy at that rate (of ${availableParallelism()})`,
      ['API processes', 'worker', 'API processes together', 'Redis', 'bench process (clients, emulator)', 'cores busy'],
      [...rates.entries()].map(([apis, r]) => {
        const parts = [0, 1, 2, 3].map((i) => of(apis, i));
        const total = parts.reduce((a: number, b) => a + (b ?? 0), 0);
        return [String(apis), ...parts.map((v) => v ?? '–'), (median(r) * total) / 1000];
      }),
    );
  } finally {
    for (const setup of setups) for (const p of setup.processes) await p.stop();
    await gpu.close();
  }
}

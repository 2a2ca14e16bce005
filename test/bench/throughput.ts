import { startOllamaEmulator } from '@mana/emulators';
import { startBareBullmq } from './bare-bullmq.js';
import type { BenchEnv } from './env.js';
import { BASELINE_ROOT, type Gateway, chatCaller, closedLoop, median, startGateway, table } from './lib.js';

const ROUNDS = 3;

/**
 * Requests per second at 50 in flight through the HTTP API (zero-latency
 * emulated GPU) against a bare BullMQ loop — add a job, a Worker processes
 * it, wait for completion — on the same Redis in the same run.
 */
export async function benchThroughput(bench: BenchEnv): Promise<void> {
  const count = 3000;
  const bare = await bareBullmq(bench.redisUrl, count, 50);
  const gpu = await startOllamaEmulator({ slots: 256 });
  const env = () => bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' });
  const gateways: Array<[string, Gateway]> = [['Mana HTTP API (job record, events, worker, SDK)', await startGateway(env())]];
  if (BASELINE_ROOT) gateways.push(['baseline checkout, the same', await startGateway(env(), BASELINE_ROOT)]);
  try {
    const rows: Array<Array<string | number>> = [['bare BullMQ add → process → completed', count, bare, 1]];
    const calls = gateways.map(([, gateway]) => chatCaller(gateway.url, 'ollama/gemma3:4b', 'ping'));
    for (const call of calls) await closedLoop(500, 50, call);
    // Interleaved rounds, medians: on a noisy machine one round each, one after the other, differs by ±15 %.
    const rates = calls.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, call] of calls.entries()) rates[i]!.push(count / ((await closedLoop(count, 50, call)).wallMs / 1000));
    }
    for (const [i, [name]] of gateways.entries()) rows.push([name, count, median(rates[i]!), median(rates[i]!) / bare]);
    table(
      `Throughput at 50 in flight, logs at info (req/s, median of ${ROUNDS} interleaved rounds; goal: Mana ≥ 2,500 and ≥ 0.35 of bare BullMQ)`,
      ['path', 'requests', 'req/s', 'vs bare BullMQ'],
      rows,
    );
  } finally {
    for (const [, gateway] of gateways) await gateway.stop();
    await gpu.close();
  }
}

async function bareBullmq(redisUrl: string, count: number, inFlight: number): Promise<number> {
  const bare = startBareBullmq(redisUrl, inFlight);
  try {
    await closedLoop(500, inFlight, bare.run);
    const { wallMs } = await closedLoop(count, inFlight, bare.run);
    return count / (wallMs / 1000);
  } finally {
    await bare.close();
  }
}

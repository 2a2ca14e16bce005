import { startOllamaEmulator } from '@mana/emulators';
import { startBareBullmq } from './bare-bullmq.js';
import type { BenchEnv } from './env.js';
import { BASELINE_ROOT, type Gateway, chatCaller, closedLoop, startGateway, table } from './lib.js';

/**
 * Requests per second at 50 in flight through the HTTP API (zero-latency
 * emulated GPU) against a bare BullMQ loop — add a job, a Worker processes
 * it, wait for completion — on the same Redis in the same run.
 */
export async function benchThroughput(bench: BenchEnv): Promise<void> {
  const count = 4000;
  const bare = await bareBullmq(bench.redisUrl, count, 50);
  const gpu = await startOllamaEmulator({ slots: 256 });
  const env = () => bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' });
  const gateways: Array<[string, Gateway]> = [['Mana HTTP API (job record, events, worker, SDK)', await startGateway(env())]];
  if (BASELINE_ROOT) gateways.push(['baseline checkout, the same', await startGateway(env(), BASELINE_ROOT)]);
  try {
    const rows: Array<Array<string | number>> = [['bare BullMQ add → process → completed', count, bare, 1]];
    for (const [name, gateway] of gateways) {
      const call = chatCaller(gateway.url, 'ollama/gemma3:4b', 'ping');
      await closedLoop(500, 50, call);
      const mana = await closedLoop(count, 50, call);
      const rps = count / (mana.wallMs / 1000);
      rows.push([name, count, rps, rps / bare]);
    }
    table('Throughput at 50 in flight, logs at info (req/s; goal: Mana ≥ 2,500 and ≥ 0.35 of bare BullMQ)', ['path', 'requests', 'req/s', 'vs bare BullMQ'], rows);
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

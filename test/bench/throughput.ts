import { startOllamaEmulator } from '@mana/emulators';
import { startBareBullmq } from './bare-bullmq.js';
import type { BenchEnv } from './env.js';
import { chatCaller, closedLoop, startGateway, table } from './lib.js';

/**
 * Requests per second at 50 in flight through the HTTP API (zero-latency
 * emulated GPU) against a bare BullMQ loop — add a job, a Worker processes
 * it, wait for completion — on the same Redis in the same run.
 */
export async function benchThroughput(bench: BenchEnv): Promise<void> {
  const count = 6000;
  const bare = await bareBullmq(bench.redisUrl, count, 50);
  const gpu = await startOllamaEmulator({ slots: 256 });
  const gateway = await startGateway(bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' }));
  try {
    const call = chatCaller(gateway.url, 'ollama/gemma3:4b', 'ping');
    await closedLoop(500, 50, call);
    const mana = await closedLoop(count, 50, call);
    const manaRps = count / (mana.wallMs / 1000);
    table(
      'Throughput at 50 in flight (req/s; goal: Mana ≥ 1,000 and ≥ 50 % of bare BullMQ)',
      ['path', 'requests', 'req/s', 'vs bare BullMQ'],
      [
        ['bare BullMQ add → process → completed', count, bare, 1],
        ['Mana HTTP API (job record, events, worker, SDK)', count, manaRps, manaRps / bare],
      ],
    );
  } finally {
    await gateway.stop();
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

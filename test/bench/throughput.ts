import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { startOllamaEmulator } from '@mana/emulators';
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
  const name = `bench-bare-${randomUUID().slice(0, 8)}`;
  const connections = [0, 1].map(() => new Redis(redisUrl, { maxRetriesPerRequest: null }));
  const queue = new Queue(name, { connection: connections[0]!, defaultJobOptions: { removeOnComplete: true } });
  const waiting = new Map<string, () => void>();
  const worker = new Worker(name, async () => 'ok', { connection: connections[1]!, concurrency: inFlight });
  worker.on('completed', (job) => waiting.get(job.id ?? '')?.());
  try {
    const run = async () => {
      const id = randomUUID();
      const done = new Promise<void>((resolve) => waiting.set(id, resolve));
      await queue.add('noop', {}, { jobId: id });
      await done;
      waiting.delete(id);
    };
    await closedLoop(500, inFlight, run);
    const { wallMs } = await closedLoop(count, inFlight, run);
    return count / (wallMs / 1000);
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    for (const c of connections) c.disconnect();
  }
}

import { Redis } from 'ioredis';
import { startOllamaEmulator } from '@mana/emulators';
import type { BenchEnv } from './env.js';
import { startGateway, table } from './lib.js';

/**
 * Batch ingest: an embedding JSONL uploaded and turned into queued jobs
 * while the GPU is drained (so nothing drains the queue meanwhile). Reports
 * lines accepted per second, the API process's peak resident memory, and
 * Redis memory per queued item. Goals: ≥ 10k lines/s, memory flat in file
 * size, ≤ 2 KB of Redis per queued item.
 */
export async function benchIngest(bench: BenchEnv, lines = Number(process.env.BENCH_INGEST_LINES ?? 20_000)): Promise<void> {
  const gpu = await startOllamaEmulator({ slots: 4 });
  const env = bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}` });
  const gateway = await startGateway(env);
  const redis = new Redis(bench.redisUrl);
  try {
    await fetch(`${gateway.url}/admin/gpus/gpu0/drain`, { method: 'POST' });
    const content = Array.from({ length: lines }, (_, i) =>
      JSON.stringify({ custom_id: `l${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: `text number ${i}` } }),
    ).join('\n');
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([content]), 'ingest.jsonl');
    const file = (await (await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
    const memoryBefore = await usedMemory(redis);
    const rssSamples: number[] = [];
    const started = performance.now();
    const batch = (await (
      await fetch(`${gateway.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }),
      })
    ).json()) as { id: string };
    for (;;) {
      const now = (await (await fetch(`${gateway.url}/v1/batches/${batch.id}`)).json()) as { status: string; request_counts: { total: number } };
      rssSamples.push(await residentMemory(gateway.url));
      if (now.status !== 'validating' && now.request_counts.total >= lines) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const seconds = (performance.now() - started) / 1000;
    const perItem = ((await usedMemory(redis)) - memoryBefore) / lines;
    table(
      `Batch ingest — ${lines} embedding lines, GPU drained (goals: ≥ 10,000 lines/s, ≤ 2 KB Redis per item)`,
      ['lines', 'seconds', 'lines/s', 'API peak RSS MB', 'Redis bytes per queued item'],
      [[lines, seconds, lines / seconds, Math.max(...rssSamples) / 1e6, perItem]],
    );
  } finally {
    redis.disconnect();
    await gateway.stop();
    await gpu.close();
  }
}

const POLL_MS = 250;

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function residentMemory(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^mana_process_\w*resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0);
}

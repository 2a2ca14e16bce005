import type { BenchEnv } from './env.js';
import { chatCaller, closedLoop, median, percentile, startEmulatedGpus, table } from './lib.js';

/**
 * Priority isolation: interactive latency on emulated GPUs with a fixed
 * service time, first with the GPUs otherwise idle, then while a 10k-item
 * chat batch drains on the same GPUs. Interactive work overtakes every
 * waiting batch item, so it should wait at most for one generation to end.
 * Goal: p99 with the batch ≤ 1.3 × p99 without, nothing spilled to the cloud
 * (MANA_INTERACTIVE_RESERVED_SLOTS keeps a slot free for it; GPU busy % shows the cost).
 */
export async function benchIsolation(bench: BenchEnv, items = Number(process.env.BENCH_BATCH_ITEMS ?? 10_000)): Promise<void> {
  const rows = [...(await measure(bench, items, 'defaults')), ...(await measure(bench, items, 'MANA_GPU_ON_DECK=true', { MANA_GPU_ON_DECK: 'true' }))];
  table(
    `Priority isolation — interactive chat, ${GPUS} GPUs × ${CAP} slots, ${SERVICE_MS} ms service time, alone vs while a ${items}-item batch drains (goal: p99 ≤ 1.3×, none spilled; GPU busy is what keeping a slot for interactive work costs)`,
    ['gateway', 'interactive', 'p50 ms', 'p99 ms', 'p99 ratio', 'GPU busy %', 'batch items done meanwhile', 'spilled to Gemini'],
    rows,
  );
}

const GPUS = 2;
const CAP = 2;
const SERVICE_MS = 100;

async function measure(bench: BenchEnv, items: number, name: string, env: Record<string, string> = {}): Promise<Array<Array<string | number>>> {
  const [gpus, cap, serviceMs] = [GPUS, CAP, SERVICE_MS];
  const { emulators, gemini, gateway, stop } = await startEmulatedGpus(bench, gpus, cap, serviceMs, env);
  interface BatchView {
    id: string;
    status: string;
    request_counts: { completed: number };
  }
  const json = <T>(res: Response) => res.json() as Promise<T>;
  try {
    const interactive = chatCaller(gateway.url, 'mana/fast-text', 'interactive');
    const requests = 100;
    await closedLoop(20, 1, interactive);
    const alone = await closedLoop(requests, 1, interactive);

    const lines = Array.from({ length: items }, (_, i) =>
      JSON.stringify({ custom_id: `b${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'mana/fast-text', messages: [{ role: 'user', content: `batch ${i}` }] } }),
    );
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([lines.join('\n')]), 'batch.jsonl');
    const file = await json<{ id: string }>(await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: form }));
    const batch = await json<BatchView>(
      await fetch(`${gateway.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
      }),
    );
    // Measure once the batch is fully queued and its items keep every slot busy.
    for (;;) {
      const now = await json<BatchView>(await fetch(`${gateway.url}/v1/batches/${batch.id}`));
      if (now.status === 'in_progress') break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const geminiBefore = gemini.stats.snapshot().total;
    const busyBefore = emulators.reduce((n, e) => n + e.stats.snapshot().busySlotMs, 0);
    const during = await closedLoop(requests, 1, interactive);
    const busyDuring = emulators.reduce((n, e) => n + e.stats.snapshot().busySlotMs, 0) - busyBefore;
    const progress = await json<BatchView>(await fetch(`${gateway.url}/v1/batches/${batch.id}`));
    await fetch(`${gateway.url}/v1/batches/${batch.id}/cancel`, { method: 'POST' });
    const p99 = (s: number[]) => percentile(s, 99);
    return [
      [name, 'alone', median(alone.latencies), p99(alone.latencies), 1, '', '', ''],
      [
        name,
        'with batch',
        median(during.latencies),
        p99(during.latencies),
        p99(during.latencies) / p99(alone.latencies),
        (100 * busyDuring) / (gpus * cap * during.wallMs),
        progress.request_counts.completed,
        gemini.stats.snapshot().total - geminiBefore,
      ],
    ];
  } finally {
    await stop();
  }
}

const POLL_MS = 250;

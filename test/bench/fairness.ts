import { startOllamaEmulator } from '@mana/emulators';
import type { BenchEnv } from './env.js';
import { Ollama } from 'ollama';
import { BASELINE_ROOT, closedLoop, startGateway, table } from './lib.js';

const A_KEY = 'bench-team-a-0123456789';
const B_KEY = 'bench-team-b-0123456789';

/**
 * Two tenants' batches on 2 GPUs × 2 slots at a fixed service time: tenant
 * A's large batch first, tenant B's small one 2 s later. With equal shares B
 * should get half the slots from the moment it arrives, so its fair-share
 * ideal is items × service ÷ (slots × ½), counted from its submission. Prints
 * B's finish against that ideal (goal ≤ 1.1×) and the GPU utilisation while
 * B ran (goal ≥ 98 %); A's batch is then cancelled (it would take minutes).
 */
export async function benchFairness(bench: BenchEnv): Promise<void> {
  const big = Number(process.env.BENCH_FAIRNESS_BIG ?? 10_000);
  const small = Number(process.env.BENCH_FAIRNESS_SMALL ?? 500);
  // The baseline for utilisation: the ollama client calling the same emulated GPUs directly, as
  // many in flight as there are slots. No gateway that keeps at most `slots` per GPU beats it.
  const direct = await directUtilisation();
  const rows: Array<Array<string | number>> = [['direct ollama client, slots in flight (utilisation baseline)', '', '', '', '', '', direct, 1]];
  const row = (name: string, [took, ideal, share, utilisation]: number[]) => [
    name,
    took!,
    ideal!,
    took! / ideal!,
    // The ideal at the utilisation the direct client reaches on this machine: what a perfect scheduler would get here.
    took! / (ideal! / (direct / 100)),
    share!,
    utilisation!,
    utilisation! / direct,
  ];
  rows.push(row('Mana (defaults)', await scenario(bench, big, small)));
  // One hop on deck per server: the next generation starts without a round trip (see SlotPolicy).
  rows.push(row('Mana, MANA_GPU_ON_DECK=true', await scenario(bench, big, small, { MANA_GPU_ON_DECK: 'true' })));
  // The baseline (an earlier checkout) may serve arrival order: B then waits for A's whole batch.
  if (BASELINE_ROOT) rows.push(row('baseline checkout', await scenario(bench, big, small, {}, BASELINE_ROOT)));
  table(
    `Fair share — tenant A's ${big}-item batch, then B's ${small} 2 s later, ${GPUS} GPUs × ${SLOTS} slots at ${SERVICE_MS} ms (goals: B ≤ 1.1× its fair-share ideal, GPU utilisation ≥ 98 %)`,
    [
      'gateway',
      'B finished s',
      'fair-share ideal s',
      'ratio',
      'ratio at direct utilisation',
      "B's share of items done while it ran (fair: 0.5)",
      'utilisation % while B ran',
      'vs direct',
    ],
    rows,
  );
}

const GPUS = 2;
const SLOTS = 2;
const SERVICE_MS = 50;

async function scenario(bench: BenchEnv, big: number, small: number, env: Record<string, string> = {}, root?: string): Promise<number[]> {
  const emulators = await Promise.all(Array.from({ length: GPUS }, () => startOllamaEmulator({ slots: SLOTS, timeToFirstTokenMs: SERVICE_MS })));
  const gateway = await startGateway(
    bench.env({
      OLLAMA_HOSTS: emulators.map((e, i) => `gpu${i}=${e.url}`).join(','),
      OLLAMA_MAX_CONCURRENT: String(SLOTS),
      MANA_API_KEYS: `team-a:${A_KEY},team-b:${B_KEY}`,
      AUTO_FALLBACK_ENABLED: 'false',
      ...env,
    }),
    root,
  );
  const api =
    (key: string) =>
    async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
  const a = api(A_KEY);
  const b = api(B_KEY);
  try {
    const busyNow = () => emulators.reduce((sum, e) => sum + e.stats.snapshot().busySlotMs, 0);
    const bigBatch = await submitBatch(a, big, 'a');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const aDoneNow = async () => ((await a(`/v1/batches/${bigBatch}`)).request_counts as { completed: number }).completed;
    const from = { at: performance.now(), busy: busyNow(), aDone: await aDoneNow() };
    const smallBatch = await submitBatch(b, small, 'b');
    for (;;) {
      const state = await b(`/v1/batches/${smallBatch}`);
      if (state.status === 'completed' || state.status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const to = { at: performance.now(), busy: busyNow() };
    const tookMs = to.at - from.at;
    const idealMs = (small * SERVICE_MS) / (GPUS * SLOTS * 0.5);
    const aDone = await aDoneNow();
    // A may have finished already (in arrival order it finishes before B).
    await a(`/v1/batches/${bigBatch}/cancel`, { method: 'POST' }).catch(() => {});
    return [tookMs / 1000, idealMs / 1000, small / (small + aDone - from.aDone), (100 * (to.busy - from.busy)) / (GPUS * SLOTS * tookMs)];
  } finally {
    await gateway.stop();
    await Promise.all(emulators.map((e) => e.close()));
  }
}

/** GPU utilisation of the ollama client alone keeping every slot of the emulated GPUs busy. */
async function directUtilisation(): Promise<number> {
  const emulators = await Promise.all(Array.from({ length: GPUS }, () => startOllamaEmulator({ slots: SLOTS, timeToFirstTokenMs: SERVICE_MS })));
  try {
    const clients = emulators.map((e) => new Ollama({ host: e.url }));
    const call = (i: number) => clients[i % GPUS]!.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: `direct ${i}` }] });
    await closedLoop(40, GPUS * SLOTS, async (i) => void (await call(i)));
    for (const e of emulators) e.stats.reset();
    const { wallMs } = await closedLoop(800, GPUS * SLOTS, async (i) => void (await call(i)));
    return (100 * emulators.reduce((sum, e) => sum + e.stats.snapshot().busySlotMs, 0)) / (GPUS * SLOTS * wallMs);
  } finally {
    await Promise.all(emulators.map((e) => e.close()));
  }
}

async function submitBatch(call: (path: string, init?: RequestInit) => Promise<Record<string, unknown>>, items: number, tag: string): Promise<string> {
  const content = Array.from({ length: items }, (_, i) =>
    JSON.stringify({
      custom_id: `${tag}${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: `${tag} ${i}` }] },
    }),
  ).join('\n');
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([content]), `${tag}.jsonl`);
  const file = await call('/v1/files', { method: 'POST', body: form });
  const batch = await call('/v1/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
  });
  return batch.id as string;
}

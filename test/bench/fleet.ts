import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Ollama } from 'ollama';
import { type OllamaEmulator, startGeminiEmulator, startOllamaEmulator, shippedModels } from '@mana/emulators';
import { Keys } from '@mana/jobs';
import type { BenchEnv } from './env.js';
import { startGateway, table } from './lib.js';

/** The mixed workload: three models of very different service times, served through their aliases. */
const MODELS = {
  'gemma3:4b': { alias: 'mana/fast-text', kind: 'chat', serviceMs: 250, jobs: 60 },
  'qwen3:8b': { alias: 'mana/structured', kind: 'chat', serviceMs: 1_000, jobs: 16 },
  'nomic-embed-text': { alias: 'mana/embed', kind: 'embedding', serviceMs: 30, jobs: 150 },
} as const;
type Model = keyof typeof MODELS;

/** Three unlike servers: different capacities and model sets, memory for one model each. */
const SERVERS: ReadonlyArray<{ name: string; slots: number; models: readonly Model[] }> = [
  { name: 'big', slots: 4, models: ['gemma3:4b', 'qwen3:8b'] },
  { name: 'small', slots: 2, models: ['qwen3:8b', 'nomic-embed-text'] },
  { name: 'mid', slots: 3, models: ['gemma3:4b', 'nomic-embed-text'] },
];
const LOAD_MS = 500;
const TOLERANCE_MS = 6_000;
const SAMPLE_MS = 25;

/**
 * `npm run bench -- fleet`: a burst of mixed work on a fleet of unlike GPU
 * servers. Printed against what the best static placement could do, computed
 * here from the same service times and capacities: cloud spill (jobs that
 * could not start within their tolerance) and model loads; and the servers'
 * utilisation while work for the model each holds is waiting.
 */
export async function benchFleet(bench: BenchEnv): Promise<void> {
  const all = shippedModels('ollama');
  const emulators = await Promise.all(
    SERVERS.map((s) =>
      startOllamaEmulator({
        slots: s.slots,
        models: all.filter((m) => (s.models as readonly string[]).includes(m.name)),
        loadMs: LOAD_MS,
        maxLoaded: 1,
        modelTimings: Object.fromEntries(s.models.map((m) => [m, { timeToFirstTokenMs: MODELS[m].serviceMs, perTokenMs: 0 }])),
      }),
    ),
  );
  const gemini = await startGeminiEmulator({ apiKey: 'bench-key' });
  const env = bench.env({
    OLLAMA_HOSTS: SERVERS.map((s, i) => `${s.name}=${emulators[i]!.url};slots=${s.slots}`).join(','),
    GOOGLE_BASE_URL: gemini.url,
    MANA_HEALTH_INTERVAL_MS: '250',
  });
  const gateway = await startGateway(env);
  const redis = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
  const keys = new Keys(env.MANA_REDIS_PREFIX!);
  const queues = new Map((Object.keys(MODELS) as Model[]).map((m) => [m, new Queue(keys.localQueueName(m), { connection: redis, prefix: keys.prefix })]));
  try {
    await waitForInventory(gateway.url);
    // Warm-up: Mana learns each model's service and load times (its wait estimates need them).
    // These loads count: the minimum below includes loading each model once.
    for (const m of Object.keys(MODELS) as Model[]) for (let i = 0; i < 3; i++) await call(gateway.url, m, -i);
    await until(async () => Object.keys(await redis.hgetall(keys.serviceTimes())).length === Object.keys(MODELS).length); // written once a second
    // The burst starts from what the warm-up left in memory; loads are counted from here.
    const held = emulators.map((e) => e.vram.loadedNames()[0] as Model | undefined);
    const loadsBefore = emulators.map((e) => ({ ...e.loads }));
    const sampler = sampleUtilisation(emulators, queues);
    const started = performance.now();
    // The burst's models interleaved in proportion, as mixed traffic arrives (not all of one model first).
    const burst = (Object.keys(MODELS) as Model[]).flatMap((m) => Array.from({ length: MODELS[m].jobs }, (_, i) => ({ m, i, at: (i + 0.5) / MODELS[m].jobs })));
    burst.sort((a, b) => a.at - b.at);
    const answers = await Promise.all(burst.map(({ m, i }) => call(gateway.url, m, i)));
    const wallMs = performance.now() - started;
    const utilisation = await sampler.stop();
    const spilled = answers.filter((p) => p !== 'ollama').length;
    const burstLoads = emulators.map((e, i): Record<string, number> =>
      Object.fromEntries(Object.entries(e.loads).flatMap(([m, n]) => (n - (loadsBefore[i]![m] ?? 0) > 0 ? [[m, n - (loadsBefore[i]![m] ?? 0)]] : []))),
    );
    const loads = burstLoads.reduce((sum, l) => sum + Object.values(l).reduce((a, b) => a + b, 0), 0);
    const best = bestStaticPlacement(held);
    const direct = await directUtilisation(emulators);
    table(
      `Fleet — ${SERVERS.map((s) => `${s.name}: ${s.slots} slots, ${s.models.join(' + ')}`).join('; ')}; memory for 1 model each (load ${LOAD_MS} ms); burst of ${answers.length} (${(Object.keys(MODELS) as Model[]).map((m) => `${MODELS[m].jobs} × ${m} ${MODELS[m].serviceMs} ms`).join(', ')}), tolerance ${TOLERANCE_MS} ms`,
      ['', 'measured', 'minimum (best static placement)', 'ratio', 'goal'],
      [
        ['cloud spill (jobs)', spilled, best.spilled, ratio(spilled, best.spilled), '≤ 1.1×'],
        ['model loads', loads, best.loads, ratio(loads, best.loads), '≤ 1.2×'],
        ['GPU utilisation while work for the loaded model waits (%)', utilisation.percent, 100, utilisation.percent / 100, '≥ 98 %'],
        ['  same, the ollama SDK calling each server directly (baseline %)', direct, 100, utilisation.percent / direct, '—'],
        ['wall time (s)', wallMs / 1000, best.makespanMs / 1000, wallMs / best.makespanMs, '—'],
      ],
    );
    console.log(
      `held after warm-up: ${SERVERS.map((s, i) => `${s.name}=${held[i] ?? 'nothing'}`).join(', ')}; best static placement from there: ${best.placement}; loads in the burst by server: ${SERVERS.map((s, i) => `${s.name} ${JSON.stringify(burstLoads[i])}`).join(', ')}`,
    );
  } finally {
    await gateway.stop();
    await Promise.all([...queues.values()].map((q) => q.close()));
    redis.disconnect();
    await Promise.all([...emulators, gemini].map((e) => e.close()));
  }
}

/**
 * The baseline: each server kept full by the ollama SDK calling it directly
 * (as many loops as it has slots) on the model it holds now, for 40 hops per
 * slot: the utilisation HTTP and the emulator allow without any gateway.
 */
async function directUtilisation(emulators: readonly OllamaEmulator[]): Promise<number> {
  let busy = 0;
  let capacity = 0;
  await Promise.all(
    emulators.map(async (e, i) => {
      const model = e.vram.loadedNames()[0] as Model | undefined;
      if (!model) return;
      const slots = SERVERS[i]!.slots;
      const client = new Ollama({ host: e.url });
      const before = e.stats.snapshot().busySlotMs;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: slots }, async () => {
          for (let k = 0; k < 40; k++) {
            if (MODELS[model].kind === 'embedding') await client.embed({ model, input: `direct ${k}` });
            else await client.chat({ model, stream: false, messages: [{ role: 'user', content: `direct ${k}` }] });
          }
        }),
      );
      busy += e.stats.snapshot().busySlotMs - before;
      capacity += slots * (performance.now() - started);
    }),
  );
  return capacity > 0 ? (100 * busy) / capacity : 100;
}

function ratio(measured: number, minimum: number): number | string {
  if (minimum === 0) return measured === 0 ? 1 : '∞';
  return measured / minimum;
}

async function call(url: string, model: Model, i: number): Promise<string> {
  const spec = MODELS[model];
  const headers = { 'content-type': 'application/json', 'x-mana-priority': 'async', 'x-mana-max-wait-ms': String(TOLERANCE_MS) };
  const body = spec.kind === 'embedding' ? { model: spec.alias, input: `text ${i}` } : { model: spec.alias, messages: [{ role: 'user', content: `question ${i}` }] };
  const res = await fetch(`${url}/v1/${spec.kind === 'embedding' ? 'embeddings' : 'chat/completions'}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`mana answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  return res.headers.get('x-mana-provider') ?? '';
}

async function waitForInventory(url: string): Promise<void> {
  await until(async () => {
    const status = (await (await fetch(`${url}/status`)).json()) as { gpus: Record<string, { models: unknown }> };
    return Object.values(status.gpus).every((g) => Array.isArray(g.models));
  });
}

/** Polls `condition` every SAMPLE_MS until it holds. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
}

/**
 * Every SAMPLE_MS: for each server, if work for the model it holds is
 * waiting in Mana's queue, its slots should all be busy; the emulator's own
 * busy-slot time over that interval says how many were.
 */
function sampleUtilisation(emulators: readonly OllamaEmulator[], queues: ReadonlyMap<Model, Queue>) {
  let expectedMs = 0;
  let busyMs = 0;
  let running = true;
  const loop = (async () => {
    let last = emulators.map((e) => e.stats.snapshot().busySlotMs);
    let lastAt = performance.now();
    let waiting = new Map<string, number>();
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      const now = performance.now();
      const busy = emulators.map((e) => e.stats.snapshot().busySlotMs);
      emulators.forEach((e, i) => {
        const held = e.vram.loadedNames();
        // Waiting as seen at the start of the interval: the interval shows whether the server took it.
        if (held.some((m) => (waiting.get(m) ?? 0) > 0)) {
          expectedMs += SERVERS[i]!.slots * (now - lastAt);
          busyMs += busy[i]! - last[i]!;
        }
      });
      last = busy;
      lastAt = now;
      waiting = new Map(await Promise.all([...queues].map(async ([m, q]) => [m, (await q.getWaitingCount()) + (await q.getPrioritizedCount())] as const)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { percent: expectedMs > 0 ? (100 * Math.min(busyMs, expectedMs)) / expectedMs : 100 };
    },
  };
}

/**
 * The best a scheduler could do that gives each server one model for the
 * whole burst, starting from what each server holds (`held`): every
 * placement (each server one of its models, or idle) is simulated with jobs
 * taken in arrival order on the first free slot of a server given their
 * model (free at once if it already holds it, else after a load); a job that
 * cannot start within its tolerance spills. The placement with the fewest
 * spills (then loads, then the shortest makespan) is the minimum.
 */
export function bestStaticPlacement(held: ReadonlyArray<Model | undefined>): { spilled: number; loads: number; makespanMs: number; placement: string } {
  let best = { spilled: Number.POSITIVE_INFINITY, loads: 0, makespanMs: 0, placement: '' };
  const choose = (i: number, chosen: Array<Model | undefined>): void => {
    if (i === SERVERS.length) {
      const result = simulate(chosen, held);
      const better =
        result.spilled < best.spilled || (result.spilled === best.spilled && (result.loads < best.loads || (result.loads === best.loads && result.makespanMs < best.makespanMs)));
      if (better) best = { ...result, placement: SERVERS.map((s, k) => `${s.name}=${chosen[k] ?? 'idle'}`).join(', ') };
      return;
    }
    for (const m of [...SERVERS[i]!.models, undefined]) choose(i + 1, [...chosen, m]);
  };
  choose(0, []);
  return best;
}

function simulate(placement: ReadonlyArray<Model | undefined>, held: ReadonlyArray<Model | undefined>): { spilled: number; loads: number; makespanMs: number } {
  let spilled = 0;
  let makespanMs = 0;
  for (const model of Object.keys(MODELS) as Model[]) {
    const slots: number[] = SERVERS.flatMap((s, i) => (placement[i] === model ? Array.from({ length: s.slots }, (): number => (held[i] === model ? 0 : LOAD_MS)) : []));
    for (let job = 0; job < MODELS[model].jobs; job++) {
      if (slots.length === 0) {
        spilled++;
        continue;
      }
      const k = slots.indexOf(Math.min(...slots));
      const start = slots[k]!;
      if (start > TOLERANCE_MS) {
        spilled++;
        continue;
      }
      slots[k] = start + MODELS[model].serviceMs;
      makespanMs = Math.max(makespanMs, slots[k]!);
    }
  }
  return { spilled, loads: placement.filter((m, i) => m !== undefined && m !== held[i]).length, makespanMs };
}

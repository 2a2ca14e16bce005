import { type ChildProcess, spawn } from 'node:child_process';
import { type GeminiEmulator, type OllamaEmulator, startGeminiEmulator, startOllamaEmulator } from '@mana/emulators';
import { freePort } from '@mana/local-redis';
import type { BenchEnv } from './env.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * BENCH_BASELINE=<dir>: another checkout of Mana (e.g. a git worktree of an
 * earlier commit, with its own node_modules) whose gateway the latency and
 * throughput benches measure too, in rounds interleaved with this one's: a
 * same-run A/B of a change on a noisy machine.
 */
export const BASELINE_ROOT = process.env.BENCH_BASELINE || undefined;

/** BENCH_ROUNDS=<n>: interleaved rounds per figure in the latency, throughput and embeddings benches (3 by default; more for an A/B on a noisy machine). */
export const BENCH_ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS) || 3);

/**
 * The order to measure `items` in, round by round: reversed every other round, since on this
 * machine whatever runs first in a round measured ~6 % slower than the same gateway run second
 * (an A/A run of two identical gateways).
 */
export function inRoundOrder<T>(items: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/**
 * Runs `task` with `inFlight` concurrent loops until `count` calls are done,
 * returning each call's latency in ms and the wall time.
 */
export async function closedLoop(count: number, inFlight: number, task: (i: number) => Promise<void>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, wallMs: performance.now() - started };
}

export interface Gateway {
  url: string;
  /** Its process id (for CPU accounting, see cpu.ts). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * The gateway (API + workers, `npm start`) in a process of its own, as
 * deployed, logging at info as in production (a JSON line per request);
 * its stdout is discarded, so writing the lines is measured, reading them is not.
 */
export function startGateway(env: Record<string, string>, root = REPO_ROOT): Promise<Gateway> {
  return startProcess('apps/gateway/src/main.ts', env, root, true);
}

/** An API process alone (`apps/api`), ready when its /ready answers. */
export function startApiProcess(env: Record<string, string>): Promise<Gateway> {
  return startProcess('apps/api/src/main.ts', env, REPO_ROOT, true);
}

/** A worker process alone (`apps/worker`); it has no HTTP port, so it is taken as started once spawned. */
export function startWorkerProcess(env: Record<string, string>): Promise<Gateway> {
  return startProcess('apps/worker/src/main.ts', env, REPO_ROOT, false);
}

/** The stateless Node proxy (stateless-proxy.ts), the floor any Node gateway pays, in front of the Ollama at `ollamaUrl`. */
export function startStatelessProxy(ollamaUrl: string): Promise<Gateway> {
  return startProcess('test/bench/stateless-proxy.ts', { OLLAMA_URL: ollamaUrl }, REPO_ROOT, true);
}

/** The same proxy queueing each call through BullMQ on the Redis at `redisUrl`: the floor of any Node gateway that queues. */
export function startQueuedProxy(ollamaUrl: string, redisUrl: string): Promise<Gateway> {
  return startProcess('test/bench/stateless-proxy.ts', { OLLAMA_URL: ollamaUrl, QUEUE_REDIS_URL: redisUrl }, REPO_ROOT, true);
}

async function startProcess(path: string, env: Record<string, string>, root: string, http: boolean): Promise<Gateway> {
  const main = join(root, path);
  const port = await freePort();
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the gateway under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', TSX_LOADER, main], {
    env: { ...process.env, MANA_LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${path} exited with ${code}`))));
  exited.catch(() => {});
  const ready = (async () => {
    for (;;) {
      const ok = http
        ? await fetch(`${url}/ready`).then(
            (r) => r.ok,
            () => false,
          )
        : child.pid !== undefined;
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  await Promise.race([ready, exited]);
  return {
    url,
    pid: child.pid ?? -1,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const POLL_MS = 50;

/** One sync chat through the gateway; throws unless it is answered 200, and reads the whole body. */
export function chatCaller(gatewayUrl: string, model: string, text: string): () => Promise<void> {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: text }] });
  return async () => {
    const res = await fetch(`${gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (res.status !== 200) throw new Error(`${gatewayUrl} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    await res.arrayBuffer();
  };
}

export interface EmulatedGpus {
  emulators: OllamaEmulator[];
  gemini: GeminiEmulator;
  gateway: Gateway;
  stop(): Promise<void>;
}

/** `gpus` emulated GPUs of `cap` slots with a fixed service time, an emulated Gemini, and the gateway over them. */
export async function startEmulatedGpus(bench: BenchEnv, gpus: number, cap: number, serviceMs: number, env: Record<string, string> = {}): Promise<EmulatedGpus> {
  const emulators = await Promise.all(Array.from({ length: gpus }, () => startOllamaEmulator({ slots: cap, timeToFirstTokenMs: serviceMs })));
  const gemini = await startGeminiEmulator({ apiKey: 'bench-key' });
  const gateway = await startGateway(
    bench.env({ OLLAMA_HOSTS: emulators.map((e, i) => `gpu${i}=${e.url}`).join(','), OLLAMA_MAX_CONCURRENT: String(cap), GOOGLE_BASE_URL: gemini.url, ...env }),
  );
  return {
    emulators,
    gemini,
    gateway,
    async stop() {
      await gateway.stop();
      await Promise.all([...emulators, gemini].map((e) => e.close()));
    },
  };
}

export function table(title: string, headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? format(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: ReadonlyArray<string | number>) => `| ${r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(`\n${title}\n${line(headers)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

function format(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

import { readServiceTimeMs } from './service-time.js';
import { hopJobId } from './keys.js';
import type { Pipeline } from './pipeline.js';
import { usableGpus } from './availability.js';
import { spillWaitingHop } from './spill.js';

const UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MIN_WINDOW_MS = 1_000;
const MAX_WINDOW_MS = 7 * 86_400_000;

/**
 * A batch's completion_window in ms: OpenAI's "24h", or (a Mana extension)
 * any whole number of s, m, h or d from 1s to 7d. Undefined when invalid.
 */
export function parseCompletionWindow(window: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(window);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS_MS[match[2] as keyof typeof UNITS_MS];
  return ms >= MIN_WINDOW_MS && ms <= MAX_WINDOW_MS ? ms : undefined;
}

/** Plan for the projected finish only this much of the time left: spilling late is worse than a little early. */
const SAFETY = 0.9;
/** The batch's own local rate is trusted once this many of its items finished on a GPU. */
const MIN_LOCAL_SAMPLES = 3;
/** Items examined per batch per pass, newest first (they would run last). */
const SCAN_PER_PASS = 200;

export interface WindowReport {
  /** Batch items moved off the GPUs so their batch can finish within its window. */
  spilled: number;
}

/**
 * One pass over in-progress batches. A batch stays on the local GPUs unless
 * its projected finish (local items remaining ÷ measured local rate) would
 * miss its completion window; then only as many waiting items as the GPUs
 * cannot finish in time move to their next target, newest first. Items of a
 * batch pinned to one model have no next target and keep waiting.
 */
export async function spillForCompletionWindows(p: Pipeline, now = Date.now()): Promise<WindowReport> {
  const report: WindowReport = { spilled: 0 };
  if (!p.options.autoFallbackEnabled) return report;
  const ids = await p.redis.zrange(p.keys.activeBatches(), 0, 49);
  for (const id of ids) report.spilled += await spillBatch(p, id, now);
  return report;
}

async function spillBatch(p: Pipeline, batchId: string, now: number): Promise<number> {
  const raw = await p.redis.hgetall(p.keys.batch(batchId));
  if (raw.status !== 'in_progress' && raw.status !== 'validating') {
    await p.redis.zrem(p.keys.activeBatches(), batchId);
    return 0;
  }
  if (raw.ingested !== '1') return 0;
  const windowMs = parseCompletionWindow(raw.completionWindow ?? '24h') ?? UNITS_MS.d;
  const createdAt = Number(raw.createdAt);
  const count = (field: string) => Number(raw[field] ?? 0);
  const remaining = count('total') - count('completed') - count('failed');
  // Spilled items not finished yet are the cloud's, not the GPUs'.
  const localRemaining = remaining - Math.max(0, count('spilled') - count('cloudDone'));
  if (localRemaining <= 0) return 0;
  const rate = await localRatePerMs(p, count('localDone'), now - createdAt);
  if (rate === undefined) return 0;
  const timeLeft = createdAt + windowMs - now;
  const excess = Math.ceil(localRemaining - rate * Math.max(0, timeLeft) * SAFETY);
  if (excess <= 0) return 0;
  return spillNewest(p, batchId, Math.min(excess, SCAN_PER_PASS), count('spillScan'), timeLeft);
}

/** Items per ms: the batch's own GPU rate once it has one, else all usable slots at the measured service time. */
async function localRatePerMs(p: Pipeline, localDone: number, elapsedMs: number): Promise<number | undefined> {
  if (localDone >= MIN_LOCAL_SAMPLES && elapsedMs > 0) return localDone / elapsedMs;
  const [serviceMs, gpus] = await Promise.all([readServiceTimeMs(p.redis, p.keys), usableGpus(p)]);
  if (!serviceMs || gpus.length === 0) return undefined;
  return (gpus.length * p.options.slotsPerGpu) / serviceMs;
}

async function spillNewest(p: Pipeline, batchId: string, wanted: number, scanned: number, timeLeftMs: number): Promise<number> {
  const ids = await p.redis.lrange(p.keys.batchJobs(batchId), -(scanned + SCAN_PER_PASS), -(scanned + 1));
  const queue = p.queues.get('ollama');
  const why = timeLeftMs > 0 ? `cannot finish its batch's items within the completion window (${Math.round(timeLeftMs / 1000)} s left)` : "passed its batch's completion window";
  let moved = 0;
  let examined = 0;
  for (const jobId of ids.reverse()) {
    if (moved >= wanted) break;
    examined++;
    const job = await queue.getJob(hopJobId(jobId, 0));
    if (job && (await spillWaitingHop(p, job, 'overflow', why))) moved++;
  }
  await p.redis.hincrby(p.keys.batch(batchId), 'spillScan', examined);
  if (moved > 0) await p.redis.hincrby(p.keys.batch(batchId), 'spilled', moved);
  return moved;
}

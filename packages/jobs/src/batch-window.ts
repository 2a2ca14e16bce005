import { parseTarget } from '@mana/aliases';
import { isLocalProvider } from '@mana/config';
import { holdersOf } from './fleet.js';
import { hopJobId } from './keys.js';
import type { Pipeline } from './pipeline.js';
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
  /** Finished items found never written to their batch's files (their process died in between), now written. */
  reconciled: number;
}

/**
 * One pass over unfinished batches: each is reconciled when its accounting
 * has stalled (see reconcileBatch), and then checked against its window. A
 * batch stays on the local GPUs unless
 * its projected finish (local items remaining ÷ measured local rate) would
 * miss its completion window; then only as many waiting items as the GPUs
 * cannot finish in time move to their next target, newest first. Items of a
 * batch pinned to one model have no next target and keep waiting.
 */
export async function batchPass(p: Pipeline, now = Date.now()): Promise<WindowReport> {
  const report: WindowReport = { spilled: 0, reconciled: 0 };
  const ids = await p.redis.zrange(p.keys.activeBatches(), 0, 49);
  for (const id of ids) {
    const raw = await p.redis.hgetall(p.keys.batch(id));
    if (!['in_progress', 'validating', 'cancelling'].includes(raw.status ?? '')) {
      await p.redis.zrem(p.keys.activeBatches(), id);
      continue;
    }
    // Still being read (a reader that died is replaced by an API process: see takeOverIngest).
    if (raw.ingested !== '1') continue;
    // Every worker process runs this pass; a batch gets at most one pass a second across all
    // of them, or each would move the whole excess it computed (the moves are exactly-once
    // per item, the counts are not). The lock is left to expire: it is the rate limit too.
    if ((await p.redis.set(p.keys.batchPassLock(id), '1', 'PX', PASS_LOCK_MS, 'NX')) !== 'OK') continue;
    report.reconciled += await reconcileBatch(p, id, raw, now);
    if (p.options.autoFallbackEnabled && raw.status !== 'cancelling') report.spilled += await spillBatch(p, id, raw, now);
  }
  return report;
}

/** One pass per batch per this long, cluster-wide. */
const PASS_LOCK_MS = 1_000;

/**
 * Finishing an item and writing its line are two steps on two hash tags; a
 * process that dies between them leaves the item finished but never counted,
 * and its batch would never complete. When a batch's accounting has made no
 * progress for a while, its items are checked and any finished one is
 * written out (accounting is once per item, so a live writer racing this
 * pass costs nothing).
 */
async function reconcileBatch(p: Pipeline, batchId: string, raw: Record<string, string>, now: number): Promise<number> {
  const last = Math.max(Number(raw.lastAccountAt ?? 0), Number(raw.lastReconcileAt ?? 0), Number(raw.createdAt ?? 0));
  if (now - last < p.options.batchReconcileMs) return 0;
  await p.redis.hset(p.keys.batch(batchId), 'lastReconcileAt', String(now));
  let reconciled = 0;
  for (let start = 0; ; start += RECONCILE_PAGE) {
    const ids = await p.redis.lrange(p.keys.batchJobs(batchId), start, start + RECONCILE_PAGE - 1);
    const statuses = await Promise.all(ids.map((id) => p.redis.hget(p.keys.jobRecord(id), 'status')));
    const finished = ids.filter((_, i) => ['succeeded', 'failed', 'cancelled'].includes(statuses[i] ?? ''));
    const accounted = await Promise.all(finished.map((id) => p.redis.sismember(p.keys.batchAccounted(batchId), id)));
    const missing = finished.filter((_, i) => accounted[i] === 0);
    for (const id of missing) await p.batches.itemFinished(batchId, id);
    reconciled += missing.length;
    if (ids.length < RECONCILE_PAGE) return reconciled;
  }
}

const RECONCILE_PAGE = 1_000;

async function spillBatch(p: Pipeline, id: string, raw: Record<string, string>, now: number): Promise<number> {
  const windowMs = parseCompletionWindow(raw.completionWindow ?? '24h') ?? UNITS_MS.d;
  const createdAt = Number(raw.createdAt);
  const count = (field: string) => Number(raw[field] ?? 0);
  const remaining = count('total') - count('completed') - count('failed');
  // Spilled items not finished yet are the cloud's, not the GPUs'.
  const localRemaining = remaining - Math.max(0, count('spilled') - count('cloudDone'));
  if (localRemaining <= 0) return 0;
  const rate = await localRatePerMs(p, id, count('localDone'), now - createdAt);
  if (rate === undefined) return 0;
  const timeLeft = createdAt + windowMs - now;
  const excess = Math.ceil(localRemaining - rate * Math.max(0, timeLeft) * SAFETY);
  if (excess <= 0) return 0;
  return spillNewest(p, id, Math.min(excess, SCAN_PER_PASS), count('spillScan'), timeLeft);
}

/**
 * Items per ms: the batch's own GPU rate once it has one, else the slots of
 * the usable servers that have the batch's model at its measured service time.
 */
async function localRatePerMs(p: Pipeline, batchId: string, localDone: number, elapsedMs: number): Promise<number | undefined> {
  if (localDone >= MIN_LOCAL_SAMPLES && elapsedMs > 0) return localDone / elapsedMs;
  const model = await localModelOf(p, (await p.redis.lrange(p.keys.batchJobs(batchId), 0, 0))[0]);
  if (!model) return undefined;
  const [fleet, times] = await Promise.all([p.cache.fleet.get(), p.cache.times.get()]);
  const slots = holdersOf(fleet, model).reduce((sum, g) => sum + g.slots, 0);
  const serviceMs = times.service[model];
  if (!serviceMs || slots === 0) return undefined;
  return slots / serviceMs;
}

/** The local model an item's first hop runs on, from its record's chain. */
async function localModelOf(p: Pipeline, jobId: string | undefined): Promise<string | undefined> {
  if (!jobId) return undefined;
  const chain = JSON.parse((await p.redis.hget(p.keys.jobRecord(jobId), 'chain')) ?? '[]') as string[];
  const parsed = chain[0] ? parseTarget(chain[0]) : undefined;
  return parsed?.ok && isLocalProvider(parsed.target.provider) ? parsed.target.model : undefined;
}

async function spillNewest(p: Pipeline, batchId: string, wanted: number, scanned: number, timeLeftMs: number): Promise<number> {
  const ids = await p.redis.lrange(p.keys.batchJobs(batchId), -(scanned + SCAN_PER_PASS), -(scanned + 1));
  const because =
    timeLeftMs > 0 ? `cannot finish its batch's items within the completion window (${Math.round(timeLeftMs / 1000)} s left)` : "passed its batch's completion window";
  let moved = 0;
  let examined = 0;
  for (const jobId of ids.reverse()) {
    if (moved >= wanted) break;
    examined++;
    const model = await localModelOf(p, jobId);
    if (!model) continue;
    const queue = p.queues.local(model);
    const job = await queue.getJob(hopJobId(jobId, 0));
    if (job && (await spillWaitingHop(p, queue, job, { type: 'waited-too-long', because }))) moved++;
  }
  await p.redis.hincrby(p.keys.batch(batchId), 'spillScan', examined);
  if (moved > 0) await p.redis.hincrby(p.keys.batch(batchId), 'spilled', moved);
  return moved;
}

import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { FinishedJob } from './record.js';
import { APPLY_STATS, StatsBatch } from './stats-batch.js';

/** Upper bounds (seconds) of the duration histogram's buckets; +Inf is implied. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600] as const;

export type DurationPhase = 'wait' | 'run' | 'total';

/** One labelled histogram series as stored: counts per bucket (not cumulative; the last is +Inf), sum, count. */
export interface DurationSeries {
  phase: DurationPhase;
  kind: string;
  alias: string;
  provider: string;
  outcome: string;
  buckets: number[];
  sum: number;
  count: number;
}

const SEP = '\t';

interface PendingBatch {
  batch: StatsBatch;
  written: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The histogram slot for `seconds`: the first bucket whose bound holds it, else +Inf's (the last). */
function bucketOf(seconds: number): number {
  const i = DURATION_BUCKETS_S.findIndex((bound) => seconds <= bound);
  return i === -1 ? DURATION_BUCKETS_S.length : i;
}

/** The ledger's tenant for jobs without one (no client keys configured). */
export const NO_TENANT = '-';

/** The start of the hour, minute and the calendar month (UTC) a time falls in: the ledger's buckets. */
export function hourOf(ms: number): number {
  return Math.floor(ms / 3_600_000) * 3_600_000;
}
export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000);
}
export function monthOf(at: Date): string {
  return `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * How long a process gathers finished jobs' statistics before writing them,
 * in one script. Metrics and the usage ledger lag by at most this much; a
 * process killed outright loses at most this much of them (a stop writes
 * what it holds). Jobs and their records are never held back.
 */
export const STATS_FLUSH_MS = 20;

/**
 * Job statistics kept in Redis, so every API process's /metrics reports the
 * same values and every job counts once, whichever process finished it: how
 * long jobs waited (queued, including failed attempts and hops passed over),
 * ran (on the target that finished them) and took in all; tokens; provider
 * errors by class.
 */
export class JobStats {
  private readonly applyScript: (...args: Array<string | number>) => Promise<unknown>;
  private pending: PendingBatch | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** How long each hour of the usage ledger is kept. */
    private readonly usageRetentionS = 35 * 86_400,
    private readonly flushMs = STATS_FLUSH_MS,
  ) {
    redis.defineCommand('manaApplyStats', { lua: APPLY_STATS });
    const fn = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>).manaApplyStats;
    if (!fn) throw new Error('could not define the statistics script');
    this.applyScript = fn.bind(redis);
  }

  /**
   * Counts a finished job: each phase's duration bucket and sum, tokens, and
   * its line in the usage ledger. Gathered with the others finishing within
   * flushMs and written with them; resolves once written.
   */
  observe(job: FinishedJob): Promise<void> {
    const pending = (this.pending ??= this.startBatch());
    this.count(pending.batch, job);
    return pending.written;
  }

  /** Writes what is gathered now (a stopping process calls it before closing Redis). */
  async flush(): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    const { keys, argv } = pending.batch.toScript();
    await this.applyScript(keys.length, ...keys, ...argv).then(pending.resolve, pending.reject);
    await pending.written;
  }

  private startBatch(): PendingBatch {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const written = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    // Awaited by whoever wants to know; a failure is theirs to see, never an unhandled rejection.
    written.catch(() => {});
    const timer = setTimeout(() => void this.flush().catch(() => {}), this.flushMs);
    timer.unref();
    return { batch: new StatsBatch(), written, resolve, reject, timer };
  }

  private count(batch: StatsBatch, job: FinishedJob): void {
    const total = Math.max(0, job.finishedAt - job.createdAt) / 1000;
    const run = job.finalHopStartedAt === undefined ? undefined : Math.max(0, job.finishedAt - job.finalHopStartedAt) / 1000;
    const phases: Array<[DurationPhase, number]> = [
      ['total', total],
      ['wait', run === undefined ? total : Math.max(0, total - run)],
    ];
    if (run !== undefined) phases.push(['run', run]);
    const labels = [job.kind, job.alias || 'none', job.provider || 'none', job.outcome].join(SEP);
    for (const [phase, seconds] of phases) {
      const series = `${phase}${SEP}${labels}${SEP}`;
      batch.add(this.keys.durationStats(), `${series}b${bucketOf(seconds)}`, 1);
      batch.addFloat(this.keys.durationStats(), `${series}sum`, seconds);
    }
    const [tokensIn, tokensOut] = job.usage ? [job.usage.promptTokens, job.usage.completionTokens] : [0, 0];
    if (tokensIn > 0) batch.add(this.keys.tokenStats(), `${job.provider}${SEP}in`, tokensIn);
    if (tokensOut > 0) batch.add(this.keys.tokenStats(), `${job.provider}${SEP}out`, tokensOut);
    this.ledger(batch, job, tokensIn, tokensOut);
  }

  /** The job's line in the usage ledger: this hour's and the all-time totals, the month's cloud spend, the minute's tokens. */
  private ledger(batch: StatsBatch, job: FinishedJob, tokensIn: number, tokensOut: number): void {
    const tenant = job.tenant || NO_TENANT;
    const field = [tenant, job.alias || 'none', job.target || 'none', ''].join(SEP);
    const { gpuMs = 0, usd = 0, avoidedUsd = 0 } = job.cost ?? {};
    const hour = this.keys.usageHour(hourOf(job.finishedAt));
    for (const key of [hour, this.keys.usageTotals()]) {
      batch.add(key, `${field}requests`, 1);
      if (job.outcome === 'failed') batch.add(key, `${field}failed`, 1);
      if (tokensIn > 0) batch.add(key, `${field}in`, tokensIn);
      if (tokensOut > 0) batch.add(key, `${field}out`, tokensOut);
      if (gpuMs > 0) batch.add(key, `${field}gpu_ms`, gpuMs);
      if (usd > 0) batch.addFloat(key, `${field}usd`, usd);
      if (avoidedUsd > 0) batch.addFloat(key, `${field}avoided_usd`, avoidedUsd);
    }
    batch.expire(hour, this.usageRetentionS);
    if (usd > 0) {
      const spend = this.keys.cloudSpend(monthOf(new Date(job.finishedAt)));
      batch.addFloat(spend, tenant, usd);
      batch.expire(spend, 40 * 86_400);
    }
    if (tokensIn + tokensOut > 0) {
      const tpm = this.keys.tenantTokens(minuteOf(job.finishedAt));
      batch.add(tpm, tenant, tokensIn + tokensOut);
      batch.expire(tpm, 120);
    }
  }

  /** A hop failed at its provider (whatever happened to the job next). */
  async providerError(provider: string, code: string): Promise<void> {
    await this.redis.hincrby(this.keys.providerErrorStats(), `${provider}${SEP}${code}`, 1);
  }

  /** Tokens by provider and direction ('in' | 'out'), every job counted once. */
  async tokens(): Promise<Array<{ provider: string; direction: string; count: number }>> {
    return Object.entries(await this.redis.hgetall(this.keys.tokenStats())).map(([field, n]) => {
      const [provider = '', direction = ''] = field.split(SEP);
      return { provider, direction, count: Number(n) };
    });
  }

  async providerErrors(): Promise<Array<{ provider: string; code: string; count: number }>> {
    return Object.entries(await this.redis.hgetall(this.keys.providerErrorStats())).map(([field, n]) => {
      const [provider = '', code = ''] = field.split(SEP);
      return { provider, code, count: Number(n) };
    });
  }

  /** The wait / run / total histograms, one series per label set. */
  async durations(): Promise<DurationSeries[]> {
    const raw = await this.redis.hgetall(this.keys.durationStats());
    const series = new Map<string, DurationSeries>();
    for (const [field, value] of Object.entries(raw)) {
      const parts = field.split(SEP);
      const [phase, kind = '', alias = '', provider = '', outcome = '', slot = ''] = parts;
      const id = parts.slice(0, 5).join(SEP);
      let s = series.get(id);
      if (!s) {
        s = { phase: phase as DurationPhase, kind, alias, provider, outcome, buckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0), sum: 0, count: 0 };
        series.set(id, s);
      }
      if (slot === 'sum') s.sum = Number(value);
      // A count slot was written by versions before the count became the buckets' sum.
      // Before 2026-12, a job past the last bound was counted one slot beyond +Inf's (b18): it is +Inf's.
      else if (slot.startsWith('b')) s.buckets[Math.min(Number(slot.slice(1)), DURATION_BUCKETS_S.length)]! += Number(value);
    }
    for (const s of series.values()) s.count = s.buckets.reduce((n, b) => n + b, 0);
    return [...series.values()];
  }
}

import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { FinishedJob } from './record.js';

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
 * KEYS: the durations hash, the tokens hash, then the usage ledger's: this
 * hour's hash, the all-time totals, this month's cloud spend by tenant,
 * this minute's tokens by tenant. ARGV: labels (tab-joined),
 * provider, tokens in, tokens out; the ledger's field prefix (tenant, alias,
 * target, tab-joined), tenant, failed (1/0), GPU ms, cloud $, $ avoided,
 * the hour's TTL; then phase/seconds pairs. One finished job's statistics
 * in one step: each phase's bucket and sum (its count is the sum of its
 * buckets), tokens, and its line in the ledger.
 */
const OBSERVE = `
-- The bucket bounds, the same for every job: written into the script, not decoded per job.
local bounds = {${DURATION_BUCKETS_S.join(', ')}}
local tokensIn, tokensOut = tonumber(ARGV[3]), tonumber(ARGV[4])
if tokensIn > 0 then redis.call('HINCRBY', KEYS[2], ARGV[2] .. '${SEP}in', tokensIn) end
if tokensOut > 0 then redis.call('HINCRBY', KEYS[2], ARGV[2] .. '${SEP}out', tokensOut) end
local gpuMs, usd, avoided = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
for k = 3, 4 do
  redis.call('HINCRBY', KEYS[k], ARGV[5] .. 'requests', 1)
  if ARGV[7] == '1' then redis.call('HINCRBY', KEYS[k], ARGV[5] .. 'failed', 1) end
  if tokensIn > 0 then redis.call('HINCRBY', KEYS[k], ARGV[5] .. 'in', tokensIn) end
  if tokensOut > 0 then redis.call('HINCRBY', KEYS[k], ARGV[5] .. 'out', tokensOut) end
  if gpuMs > 0 then redis.call('HINCRBY', KEYS[k], ARGV[5] .. 'gpu_ms', gpuMs) end
  if usd > 0 then redis.call('HINCRBYFLOAT', KEYS[k], ARGV[5] .. 'usd', ARGV[9]) end
  if avoided > 0 then redis.call('HINCRBYFLOAT', KEYS[k], ARGV[5] .. 'avoided_usd', ARGV[10]) end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[11]))
if usd > 0 then
  redis.call('HINCRBYFLOAT', KEYS[5], ARGV[6], ARGV[9])
  redis.call('EXPIRE', KEYS[5], 40 * 86400)
end
if tokensIn + tokensOut > 0 then
  redis.call('HINCRBY', KEYS[6], ARGV[6], tokensIn + tokensOut)
  redis.call('EXPIRE', KEYS[6], 120)
end
for i = 12, #ARGV, 2 do
  local phase, seconds = ARGV[i], tonumber(ARGV[i + 1])
  -- Past the last bound: the +Inf bucket.
  local bucket = #bounds
  for b = 1, #bounds do
    if seconds <= bounds[b] then bucket = b - 1; break end
  end
  local series = phase .. '${SEP}' .. ARGV[1]
  redis.call('HINCRBY', KEYS[1], series .. '${SEP}b' .. bucket, 1)
  redis.call('HINCRBYFLOAT', KEYS[1], series .. '${SEP}sum', seconds)
end
return 1
`;

/**
 * Job statistics kept in Redis, so every API process's /metrics reports the
 * same values and every job counts once, whichever process finished it: how
 * long jobs waited (queued, including failed attempts and hops passed over),
 * ran (on the target that finished them) and took in all; tokens; provider
 * errors by class.
 */
export class JobStats {
  private readonly observeScript: (...args: Array<string | number>) => Promise<unknown>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** How long each hour of the usage ledger is kept. */
    private readonly usageRetentionS = 35 * 86_400,
  ) {
    redis.defineCommand('manaObserveJob', { numberOfKeys: 6, lua: OBSERVE });
    const fn = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>).manaObserveJob;
    if (!fn) throw new Error('could not define the durations script');
    this.observeScript = fn.bind(redis);
  }

  async observe(job: FinishedJob): Promise<void> {
    const total = Math.max(0, job.finishedAt - job.createdAt) / 1000;
    const run = job.finalHopStartedAt === undefined ? undefined : Math.max(0, job.finishedAt - job.finalHopStartedAt) / 1000;
    const phases: Array<[DurationPhase, number]> = [
      ['total', total],
      ['wait', run === undefined ? total : Math.max(0, total - run)],
    ];
    if (run !== undefined) phases.push(['run', run]);
    const labels = [job.kind, job.alias || 'none', job.provider || 'none', job.outcome].join(SEP);
    const tokens = job.usage ? [job.usage.promptTokens, job.usage.completionTokens] : [0, 0];
    const tenant = job.tenant || NO_TENANT;
    const ledgerField = [tenant, job.alias || 'none', job.target || 'none', ''].join(SEP);
    const cost = job.cost;
    const at = new Date(job.finishedAt);
    await this.observeScript(
      this.keys.durationStats(),
      this.keys.tokenStats(),
      this.keys.usageHour(hourOf(job.finishedAt)),
      this.keys.usageTotals(),
      this.keys.cloudSpend(monthOf(at)),
      this.keys.tenantTokens(minuteOf(job.finishedAt)),
      labels,
      job.provider,
      ...tokens,
      ledgerField,
      tenant,
      job.outcome === 'failed' ? '1' : '0',
      cost?.gpuMs ?? 0,
      String(cost?.usd ?? 0),
      String(cost?.avoidedUsd ?? 0),
      this.usageRetentionS,
      ...phases.flat(),
    );
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

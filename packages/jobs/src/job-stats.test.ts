import { afterEach, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { DURATION_BUCKETS_S, JobStats } from './job-stats.js';
import { cloudSpentThisMonth, readUsageTotals } from './usage-ledger.js';
import { tokenWindow } from './token-window.js';
import { Keys } from './keys.js';
import type { FinishedJob } from './record.js';
import type { RedisClient } from './redis.js';

let redis: RedisClient | undefined;
let prefix = '';
afterEach(async () => {
  redis?.disconnect();
  await deletePrefix(prefix);
});

const job = (totalS: number, runS: number): FinishedJob => ({
  batch: '',
  tenant: '',
  kind: 'chat',
  alias: 'mana/fast-text',
  provider: 'ollama',
  outcome: 'done',
  createdAt: 1_000_000,
  finalHopStartedAt: 1_000_000 + (totalS - runS) * 1000,
  finishedAt: 1_000_000 + totalS * 1000,
  target: 'ollama/gemma3:4b',
  countedInTenantLimit: false,
});

function statsOnFreshPrefix(flushMs?: number): { keys: Keys; redis: RedisClient; stats: JobStats } {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  redis = testRedis();
  return { keys, redis, stats: new JobStats(redis, keys, undefined, flushMs) };
}

it('counts each phase in its bucket, one past the last bound in +Inf, with sums', async () => {
  const { stats } = statsOnFreshPrefix();
  await stats.observe(job(0.004, 0.004));
  await stats.observe(job(2, 1.5));
  await stats.observe(job(7200, 3));
  const total = (await stats.durations()).find((s) => s.phase === 'total')!;
  expect(total.buckets).toHaveLength(DURATION_BUCKETS_S.length + 1);
  expect(total.buckets[0]).toBe(1); // ≤ 5 ms
  expect(total.buckets[DURATION_BUCKETS_S.indexOf(2.5)]).toBe(1);
  expect(total.buckets[DURATION_BUCKETS_S.length]).toBe(1); // +Inf
  expect(total.count).toBe(3);
  expect(total.sum).toBeCloseTo(7202.004, 6);
  const run = (await stats.durations()).find((s) => s.phase === 'run')!;
  expect(run.buckets[DURATION_BUCKETS_S.indexOf(5)]).toBe(1); // 3 s
  expect(run.count).toBe(3);
});

it('reads a +Inf count that earlier versions wrote one slot too far as +Inf', async () => {
  const { keys, redis, stats } = statsOnFreshPrefix();
  await stats.observe(job(7200, 1));
  const series = (await stats.durations()).find((s) => s.phase === 'total')!;
  await redis.hset(keys.durationStats(), ['total', series.kind, series.alias, series.provider, series.outcome, `b${DURATION_BUCKETS_S.length + 1}`].join('\t'), '2');
  const read = (await stats.durations()).find((s) => s.phase === 'total')!;
  expect(read.buckets).toHaveLength(DURATION_BUCKETS_S.length + 1);
  expect(read.buckets[DURATION_BUCKETS_S.length]).toBe(3);
  expect(read.count).toBe(3);
});

it('gathers the jobs that finish together and writes them at once: nothing before, every one after', async () => {
  const { keys, redis, stats } = statsOnFreshPrefix(200);
  const now = Date.now();
  const paid: FinishedJob = {
    ...job(1, 0.5),
    tenant: 'team-a',
    finishedAt: now,
    createdAt: now - 1000,
    finalHopStartedAt: now - 500,
    provider: 'google',
    target: 'google/gemini-2.0-flash',
    usage: { promptTokens: 3, completionTokens: 4 },
    cost: { usd: 0.25, avoidedUsd: 0, gpuMs: 0, pricedAs: 'google/gemini-2.0-flash', priced: true },
  };
  const written = Promise.all([stats.observe(job(0.004, 0.004)), stats.observe(job(0.004, 0.002)), stats.observe(paid), stats.observe({ ...paid, outcome: 'failed' })]);
  expect(await redis.exists(keys.durationStats(), keys.usageTotals())).toBe(0);
  await written;
  const totals = (await stats.durations()).filter((s) => s.phase === 'total');
  expect(totals.find((s) => s.provider === 'ollama')?.buckets[0]).toBe(2);
  expect(totals.find((s) => s.provider === 'ollama')?.sum).toBeCloseTo(0.008, 9);
  expect(totals.reduce((n, s) => n + s.count, 0)).toBe(4);
  const ledger = { redis, keys };
  const teamA = (await readUsageTotals(ledger)).find((r) => r.tenant === 'team-a')!;
  expect(teamA).toMatchObject({ requests: 2, failed: 1, promptTokens: 6, completionTokens: 8 });
  expect(teamA.costUsd).toBeCloseTo(0.5, 9);
  expect(await cloudSpentThisMonth(ledger, 'team-a', now)).toBeCloseTo(0.5, 9);
  expect((await tokenWindow(ledger, 'team-a', now)).current).toBe(14);
  expect(await redis.ttl(keys.tenantTokens(Math.floor(now / 60_000)))).toBeGreaterThan(100);
  expect((await stats.tokens()).find((t) => t.provider === 'google' && t.direction === 'out')?.count).toBe(8);
});

it('writes what it holds when flushed, without waiting for its batch to be due', async () => {
  const { keys, redis, stats } = statsOnFreshPrefix(60_000);
  const written = stats.observe(job(2, 1));
  await stats.flush();
  await written;
  expect(await redis.exists(keys.durationStats())).toBe(1);
  expect((await stats.durations()).find((s) => s.phase === 'run')?.count).toBe(1);
});

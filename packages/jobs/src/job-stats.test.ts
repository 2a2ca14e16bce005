import { afterEach, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { DURATION_BUCKETS_S, JobStats } from './job-stats.js';
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

function statsOnFreshPrefix(): { keys: Keys; redis: RedisClient; stats: JobStats } {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  redis = testRedis();
  return { keys, redis, stats: new JobStats(redis, keys) };
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

import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { JobStats } from './job-stats.js';
import { Keys } from './keys.js';
import type { FinishedJob } from './record.js';
import type { RedisClient } from './redis.js';
import { type TokenWindow, secondsUntilRoom, tokenWindow, windowTokens } from './token-window.js';

let redis: RedisClient | undefined;
let prefix = '';
afterEach(async () => {
  redis?.disconnect();
  await deletePrefix(prefix);
});

/** A tenant's job of `tokens` finished at `at`, as a worker reports it. */
const finished = (tenant: string, tokens: number, at: number): FinishedJob => ({
  batch: '',
  tenant,
  kind: 'chat',
  alias: 'mana/fast-text',
  provider: 'ollama',
  outcome: 'succeeded',
  createdAt: at - 100,
  finalHopStartedAt: at - 50,
  finishedAt: at,
  target: 'ollama/gemma3:4b',
  usage: { promptTokens: tokens / 2, completionTokens: tokens / 2 },
  countedInTenantLimit: false,
});

describe("a tenant's tokens over the last minute", () => {
  it('count all of this minute and the share of the last one still inside the window, so a minute boundary does not reset them', async () => {
    prefix = testPrefix();
    const keys = new Keys(prefix);
    redis = testRedis();
    const stats = new JobStats(redis, keys);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    // 600 tokens in the last seconds of one minute, 100 early in the next; another tenant's apart.
    await Promise.all([
      stats.observe(finished('team-a', 600, minute - 2_000)),
      stats.observe(finished('team-a', 100, minute + 1_000)),
      stats.observe(finished('team-b', 50, minute)),
    ]);
    const ledger = { redis, keys };
    const justAfter = await tokenWindow(ledger, 'team-a', minute + 1_500);
    expect(justAfter).toEqual({ current: 100, previous: 600, into: 0.025 });
    // At 12:01:01.5 the tokens spent at 12:00:58 still count (nearly) whole: a calendar minute alone would have said 100.
    expect(windowTokens(justAfter)).toBe(Math.round(100 + 600 * 0.975));
    expect(windowTokens(await tokenWindow(ledger, 'team-a', minute + 30_000))).toBe(400);
    expect(windowTokens(await tokenWindow(ledger, 'team-a', minute + 59_999))).toBe(100);
    expect(windowTokens(await tokenWindow(ledger, 'team-b', minute + 30_000))).toBe(50);
    expect(windowTokens(await tokenWindow(ledger, 'team-c', minute + 30_000))).toBe(0);
  });
});

describe('how long until a request fits', () => {
  const w = (current: number, previous: number, into: number): TokenWindow => ({ current, previous, into });

  it('within this minute, as the last minute’s share drains', () => {
    // 100 + 700 × 0.5 = 450 in the window; 150 more fit under 500 once 700 × (1 − into) ≤ 250: 8.6 s on.
    expect(secondsUntilRoom(w(100, 700, 0.5), 150, 500)).toBe(9);
    // Half a second from fitting: never less than 1 s.
    expect(secondsUntilRoom(w(0, 600, 0.9), 10, 65)).toBe(1);
  });

  it("past this minute's end, when this minute alone holds too much", () => {
    // 450 this minute, 30 s left: at the next minute they are the last minute's share, 450 × (1 − u/60) ≤ 400 at u = 6.7 s.
    expect(secondsUntilRoom(w(450, 0, 0.5), 100, 500)).toBe(37);
  });

  it('a request as large as the limit: once the window is empty', () => {
    // 300 this minute, 45 s left; then 300 × (1 − u/60) ≤ 0 only at u = 60.
    expect(secondsUntilRoom(w(300, 0, 0.25), 500, 500)).toBe(105);
  });
});

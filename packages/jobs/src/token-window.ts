import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { NO_TENANT, minuteOf } from './job-stats.js';

/**
 * A tenant's tokens over the last 60 s, from the per-minute counts the
 * ledger keeps: all of this calendar minute's, and the share of the last
 * one's still inside the window (each minute's tokens taken as spread
 * evenly over it). Counting the calendar minute alone let a tenant spend
 * its limit at 12:00:59 and all of it again at 12:01:00.
 */
export interface TokenWindow {
  /** Tokens of the tenant's jobs finished in this calendar minute so far. */
  current: number;
  /** Those of the minute before. */
  previous: number;
  /** How far into this minute `now` is, 0 to 1. */
  into: number;
}

export async function tokenWindow(p: { redis: RedisClient; keys: Keys }, tenant: string, now = Date.now()): Promise<TokenWindow> {
  const minute = minuteOf(now);
  const field = tenant || NO_TENANT;
  // Both hashes are in the {stats} slot; sent together, they cost one round trip.
  const [current, previous] = await Promise.all([p.redis.hget(p.keys.tenantTokens(minute), field), p.redis.hget(p.keys.tenantTokens(minute - 1), field)]);
  return { current: Number(current ?? 0), previous: Number(previous ?? 0), into: (now - minute * 60_000) / 60_000 };
}

/** The tokens the window holds now. */
export function windowTokens(w: TokenWindow): number {
  return Math.round(w.current + w.previous * (1 - w.into));
}

/**
 * Seconds until `asked` more tokens (no more than `limit`) fit under
 * `limit`, if no more finish meanwhile: the last minute's share drains as
 * the window slides on, then (past the minute's end) this minute's. Never
 * less than 1.
 */
export function secondsUntilRoom(w: TokenWindow, asked: number, limit: number): number {
  const room = Math.max(0, limit - asked);
  const left = 60 * (1 - w.into);
  let wait: number;
  if (w.current <= room) {
    // Within this minute: the last minute's share falls below what is left of the room.
    wait = w.previous > 0 ? Math.max(0, 60 * (1 - w.into - (room - w.current) / w.previous)) : 0;
  } else {
    // Past this minute's end, while this minute's tokens become the last minute's share.
    wait = left + 60 * (1 - room / w.current);
  }
  return Math.max(1, Math.ceil(wait));
}

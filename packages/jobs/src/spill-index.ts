import type { RedisClient } from './redis.js';

/**
 * Members of the spill index name the hop and its model's queue: the spill
 * pass must find the waiting hop in the right queue. The model is
 * URI-encoded, so it holds no space.
 */
export function spillMember(model: string, hopId: string): string {
  return `${encodeURIComponent(model)} ${hopId}`;
}

export function parseSpillMember(member: string): { model: string; hopId: string } | undefined {
  const space = member.indexOf(' ');
  if (space <= 0) return undefined;
  return { model: decodeURIComponent(member.slice(0, space)), hopId: member.slice(space + 1) };
}

/**
 * How long an entry waits to be written with the others queued meanwhile, in
 * one ZADD. The index is read seconds later (a hop's tolerance), and the
 * spill pass runs every 250 ms; a hop that starts first, in this process,
 * never needs its entry written (or removed).
 */
export const SPILL_INDEX_BATCH_MS = 10;

/**
 * How long a started hop's removal waits, to go with the others in one ZREM.
 * Longer than an addition's wait: a hop dispatched in another process may
 * start before its entry is written there, and a removal that overtook its
 * entry would leave it to the spill pass. Removals go out in generations, so
 * each waits between one and two of these. Harmless either way: the spill
 * pass checks a hop's state before it moves one, and leaves a started hop.
 */
export const SPILL_REMOVAL_BATCH_MS = 25;

/** Bounds what is held for a Redis that refuses the writes (the entries are then lost: those hops only wait). */
const MAX_PENDING = 50_000;

/** Each index key's writers in this process: a hop that starts here before its entry is written cancels it. */
const writersByKey = new Map<string, Set<SpillIndexWrites>>();

/**
 * The spill index's writes, gathered: entries of hops dispatched (one ZADD
 * every SPILL_INDEX_BATCH_MS), and removals of hops started (one ZREM per
 * generation). Each was one command per hop: ~1.2 per sync chat at 50 in
 * flight (issue 15's note). `flush` on close writes what is pending; a process
 * killed outright loses at most the last SPILL_INDEX_BATCH_MS of entries, and
 * those hops then wait for their GPU and do not spill.
 */
export class SpillIndexWrites {
  private adds = new Map<string, number>();
  private addTimer: ReturnType<typeof setTimeout> | undefined;
  private newer: string[] = [];
  private older: string[] = [];
  private removalTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly redis: Pick<RedisClient, 'zadd' | 'zrem'>,
    private readonly key: string,
  ) {
    const writers = writersByKey.get(key) ?? new Set();
    writersByKey.set(key, writers);
    writers.add(this);
  }

  /** Indexes a waiting hop of `model`, due to spill at `dueAt` (epoch ms) if still waiting then. */
  add(model: string, hopId: string, dueAt: number): void {
    if (this.adds.size >= MAX_PENDING) return;
    this.adds.set(spillMember(model, hopId), dueAt);
    this.addTimer ??= unrefTimeout(() => void this.flushAdds(), SPILL_INDEX_BATCH_MS);
  }

  /** A hop of `model` started: its entry leaves the index, or is never written if it is still pending here. */
  started(model: string, hopId: string): void {
    const member = spillMember(model, hopId);
    for (const writer of writersByKey.get(this.key) ?? []) if (writer.adds.delete(member)) return;
    if (this.newer.length >= MAX_PENDING) return;
    this.newer.push(member);
    this.removalTimer ??= unrefTimeout(() => this.flushRemovals(), SPILL_REMOVAL_BATCH_MS);
  }

  /** Writes everything pending now (on close). */
  async flush(): Promise<void> {
    clearTimeout(this.removalTimer);
    this.removalTimer = undefined;
    const removals = [...this.older, ...this.newer];
    this.older = [];
    this.newer = [];
    await Promise.all([this.flushAdds(), removals.length > 0 ? this.redis.zrem(this.key, ...removals).catch(() => {}) : undefined]);
  }

  /** Stops cancelling this writer's entries from elsewhere in the process (after its last flush). */
  close(): void {
    writersByKey.get(this.key)?.delete(this);
  }

  private async flushAdds(): Promise<void> {
    clearTimeout(this.addTimer);
    this.addTimer = undefined;
    if (this.adds.size === 0) return;
    const adds = this.adds;
    this.adds = new Map();
    const args = [...adds].flatMap(([member, dueAt]) => [dueAt, member]);
    await this.redis.zadd(this.key, ...args).catch(() => {
      // Tried again with the next ones: an entry is needed only seconds from now.
      for (const [member, dueAt] of adds) if (this.adds.size < MAX_PENDING && !this.adds.has(member)) this.adds.set(member, dueAt);
      this.addTimer ??= unrefTimeout(() => void this.flushAdds(), SPILL_INDEX_BATCH_MS * 10);
    });
  }

  private flushRemovals(): void {
    this.removalTimer = undefined;
    const due = this.older;
    this.older = this.newer;
    this.newer = [];
    // Left in the index if this fails: the spill pass then finds the hop started, and drops it.
    if (due.length > 0) void this.redis.zrem(this.key, ...due).catch(() => {});
    if (this.older.length > 0) this.removalTimer = unrefTimeout(() => this.flushRemovals(), SPILL_REMOVAL_BATCH_MS);
  }
}

function unrefTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

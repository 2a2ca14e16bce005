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
 * How long a started hop's entry may stay in the spill index, to be removed
 * with the others that started meanwhile in one ZREM. Harmless: the spill
 * pass checks a hop's state before it moves one, and leaves a started hop.
 */
export const SPILL_REMOVAL_BATCH_MS = 10;

/** Removes started hops' entries from the spill index, gathered for SPILL_REMOVAL_BATCH_MS. */
export class SpillIndexRemovals {
  private members: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly redis: Pick<RedisClient, 'zrem'>,
    private readonly key: string,
  ) {}

  started(model: string, hopId: string): void {
    this.members.push(spillMember(model, hopId));
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), SPILL_REMOVAL_BATCH_MS);
    this.timer.unref();
  }

  private flush(): void {
    const members = this.members;
    this.members = [];
    this.timer = undefined;
    // Left in the index if this fails: the spill pass then finds the hop started, and drops it.
    void this.redis.zrem(this.key, ...members).catch(() => {});
  }
}

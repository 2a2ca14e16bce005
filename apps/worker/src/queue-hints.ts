/** With nothing to take, a queue is looked at again this often even without a wake-up (delayed retries). */
export const IDLE_POLL_MS = 200;

interface QueueHint {
  /** Not fetched from before this time unless a hop is announced for it. */
  skipUntil: number;
  /**
   * Hops announced since the queue was last found empty, less those taken
   * since; undefined while unknown (at start, and after taking a hop nobody
   * announced), when the queue is fetched from until it is found empty.
   */
  announced: number | undefined;
  /** Announcements ever heard, to tell whether one came while a fetch was on its way. */
  heard: number;
}

/**
 * Which of a GPU server's model queues are worth a fetch. A fetch costs a
 * Redis script (BullMQ's moveToActive) whether it finds a hop or not, and
 * after taking a hop the scheduler used to fetch again at once, which found
 * the queue empty whenever nothing else had been queued meanwhile: a second
 * moveToActive for every sync chat at 1 in flight. Every hop queued is
 * announced, a batch of them with its count (see LocalWorkSignal), so once a
 * queue has been seen empty, the hops announced since are the ones it can
 * hold; when the last of them is taken, the queue is taken as empty without
 * a fetch to confirm it. Hops that arrive unannounced (a delayed retry coming
 * due, a stalled hop put back, a message lost in a reconnect) are found by
 * the slow poll, as before; taking one makes the count unknown again, so a
 * backlog of them is drained at once, not one per poll. A count that is too
 * high costs only an empty fetch.
 */
export class QueueHints {
  private readonly hints = new Map<string, QueueHint>();

  private hint(model: string): QueueHint {
    let hint = this.hints.get(model);
    if (!hint) this.hints.set(model, (hint = { skipUntil: 0, announced: undefined, heard: 0 }));
    return hint;
  }

  /** `hops` hops of `model` were queued somewhere; undefined when the announcement did not say how many (an earlier version's): the count is unknown again. */
  announced(model: string, hops: number | undefined): void {
    const hint = this.hint(model);
    hint.heard++;
    hint.announced = hops === undefined || hint.announced === undefined ? undefined : hint.announced + hops;
    hint.skipUntil = 0;
  }

  worthFetching(model: string, now: number): boolean {
    return (this.hints.get(model)?.skipUntil ?? 0) <= now;
  }

  /** Not worth a fetch before `until` (another server is loading the model), unless a hop is announced. */
  skipUntil(model: string, until: number): void {
    this.hint(model).skipUntil = until;
  }

  /** A fetch is starting: what `foundEmpty` needs to know of it. */
  fetching(model: string): number {
    return this.hint(model).heard;
  }

  /** The fetch begun when `heard` was returned by `fetching` found the queue empty. */
  foundEmpty(model: string, heard: number, now: number): void {
    const hint = this.hint(model);
    // Hops announced while the fetch was on its way may have been queued after it ran.
    const since = hint.heard - heard;
    hint.announced = since;
    if (since === 0) hint.skipUntil = now + IDLE_POLL_MS;
  }

  /** A fetch took a hop. True when the queue is taken as empty now (no fetch until a hop is announced or the poll). */
  took(model: string, now: number): boolean {
    const hint = this.hint(model);
    if (hint.announced === undefined) return false;
    if (hint.announced === 0) {
      // Nobody announced this one: there may be more like it.
      hint.announced = undefined;
      return false;
    }
    hint.announced--;
    if (hint.announced > 0) return false;
    hint.skipUntil = now + IDLE_POLL_MS;
    return true;
  }
}

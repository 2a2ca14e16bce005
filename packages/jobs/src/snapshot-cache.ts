/**
 * Remembers an async value for a short time, sharing one fetch among the
 * callers that ask meanwhile. Dispatch decisions read health and backlog on
 * every request; a value a few tens of milliseconds old is as good for them
 * (the spill loop corrects any misjudgement) and saves Redis round trips.
 *
 * Both read a fresh value ahead once the one held is past half its `ttlMs`.
 * `getStale` also answers a value past its `ttlMs` but younger than
 * `staleMs` at once, while a fresh one is read in the background: a GPU
 * whose slot just freed does not wait a round trip for the fleet's state
 * before taking its next job. Dispatch decisions use `get`: a stale "GPU
 * down" would send work to the cloud that the GPU could take.
 */
export class SnapshotCache<T> {
  private value: { at: number; promise: Promise<T>; settled: boolean } | undefined;
  private refreshing = false;
  /** Counts clears: a refresh begun before one must not bring back what was cleared. */
  private clears = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
    private readonly staleMs = ttlMs,
  ) {}

  get(now = performance.now()): Promise<T> {
    const value = this.value;
    if (value && now - value.at < this.ttlMs) return this.readingAhead(value, now);
    return this.start(now).promise;
  }

  getStale(now = performance.now()): Promise<T> {
    const value = this.value;
    if (value && now - value.at < this.ttlMs) return this.readingAhead(value, now);
    if (value?.settled && now - value.at < this.staleMs) {
      if (!this.refreshing) this.refresh(now);
      return value.promise;
    }
    return this.start(now).promise;
  }

  /**
   * A value past half its time is answered, and a fresh one read meanwhile:
   * while callers keep coming, the next finds it there, and `get` never waits
   * for a read (a dispatch decision would otherwise wait a round trip every
   * ttlMs). Values are never older than they were.
   */
  private readingAhead(value: { at: number; promise: Promise<T>; settled: boolean }, now: number): Promise<T> {
    if (value.settled && !this.refreshing && now - value.at >= this.ttlMs / 2) this.refresh(now);
    return value.promise;
  }

  /** Forget the value, e.g. after this process learnt that a GPU went down. */
  clear(): void {
    this.value = undefined;
    this.clears++;
  }

  private start(now: number) {
    const promise = this.load();
    const value = { at: now, promise, settled: false };
    this.value = value;
    promise.then(
      () => (value.settled = true),
      // A failed load is not remembered: the next caller tries again.
      () => {
        if (this.value === value) this.value = undefined;
      },
    );
    return value;
  }

  /** Reads a fresh value; the current one stays until it has come. */
  private refresh(now: number): void {
    this.refreshing = true;
    const clears = this.clears;
    const fresh = this.load();
    fresh.then(
      () => {
        this.refreshing = false;
        if (this.clears === clears) this.value = { at: now, promise: fresh, settled: true };
      },
      () => {
        this.refreshing = false;
      },
    );
  }
}

/**
 * Remembers an async value for a short time, sharing one fetch among the
 * callers that ask meanwhile. Dispatch decisions read health and backlog on
 * every request; a value a few tens of milliseconds old is as good for them
 * (the spill loop corrects any misjudgement) and saves Redis round trips.
 */
export class SnapshotCache<T> {
  private value: { at: number; promise: Promise<T> } | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(now = performance.now()): Promise<T> {
    if (this.value && now - this.value.at < this.ttlMs) return this.value.promise;
    const promise = this.load();
    this.value = { at: now, promise };
    // A failed load is not remembered: the next caller tries again.
    promise.catch(() => {
      if (this.value?.promise === promise) this.value = undefined;
    });
    return promise;
  }

  /** Forget the value, e.g. after this process learnt that a GPU went down. */
  clear(): void {
    this.value = undefined;
  }
}

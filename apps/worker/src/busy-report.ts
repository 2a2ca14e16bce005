import type { Pipeline } from '@mana/jobs';

/** How long a server must stay idle before the fleet is told (see changed). */
const IDLE_WRITE_DELAY_MS = 100;

/**
 * Tells the fleet how many hops one GPU server is generating. Whether it is
 * idle matters to the others' choices (see pickModel): written when it
 * starts or stops being idle, not per hop; the GPU worker's tick refreshes
 * the count in between. Becoming idle is written a moment late, and not at
 * all when the next hop starts first: a server serving one request after
 * another is not idle between them.
 */
export class BusyReport {
  private idleWrite: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly gpu: string,
    private readonly ttlMs: number,
    private readonly running: () => number,
  ) {}

  /** Call when the server starts or stops being idle. */
  changed(): void {
    if (this.running() > 0) {
      if (this.idleWrite) clearTimeout(this.idleWrite);
      else this.write();
      this.idleWrite = undefined;
      return;
    }
    this.idleWrite ??= setTimeout(() => {
      this.idleWrite = undefined;
      if (this.running() === 0) this.write();
    }, IDLE_WRITE_DELAY_MS);
    this.idleWrite.unref();
  }

  close(): void {
    if (this.idleWrite) clearTimeout(this.idleWrite);
  }

  private write(): void {
    void this.pipeline.redis.set(this.pipeline.keys.gpuBusy(this.gpu), String(this.running()), 'PX', this.ttlMs).catch(() => {});
  }
}

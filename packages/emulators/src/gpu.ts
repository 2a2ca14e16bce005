import type { HttpError } from './http.js';

export interface GpuOptions {
  /** Requests generating at once, like OLLAMA_NUM_PARALLEL. @defaultValue 1 */
  slots?: number;
  /** Requests allowed to wait; beyond it, 503 "server busy" (like OLLAMA_MAX_QUEUE). @defaultValue unbounded */
  maxQueue?: number | undefined;
}

/**
 * One simulated GPU: a fixed number of slots, and a FIFO of requests waiting
 * for one. A request for a loaded model waits without bound, as in real
 * Ollama; only with `maxQueue` set does a full queue answer 503.
 */
export class Gpu {
  readonly slots: number;
  private readonly maxQueue: number | undefined;
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(
    options: GpuOptions,
    private readonly busyError: () => HttpError,
  ) {
    this.slots = options.slots ?? 1;
    this.maxQueue = options.maxQueue;
    this.free = this.slots;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Waits for a slot; resolves with the function that frees it. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    if (this.maxQueue !== undefined && this.waiting.length >= this.maxQueue) throw this.busyError();
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', giveUp);
        resolve();
      };
      const giveUp = () => {
        const at = this.waiting.indexOf(grant);
        if (at !== -1) this.waiting.splice(at, 1);
        reject(new Error('client went away while waiting for a slot'));
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', giveUp, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

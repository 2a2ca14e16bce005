import { pause } from './http.js';
import { sameOllamaModel } from './models.js';

export interface VramOptions {
  /** Time to load a cold model. @defaultValue 0 */
  loadMs?: number | undefined;
  /** Per-model load times, overriding loadMs. */
  loadMsByModel?: Record<string, number> | undefined;
  /** Models that fit in memory at once, like OLLAMA_MAX_LOADED_MODELS. @defaultValue unbounded */
  maxLoaded?: number | undefined;
}

interface Resident {
  name: string;
  lastUsed: number;
  inUse: number;
}

/**
 * Which models a simulated GPU holds in memory. A request for a cold model
 * loads it first (one load however many requests wait for it); when memory
 * is full the least recently used idle model is evicted, and if every
 * resident model is busy the load waits until one is idle, as Ollama's
 * scheduler does. Every load is counted, so tests can see model swaps.
 */
export class Vram {
  private readonly resident: Resident[] = [];
  private readonly loading = new Map<string, Promise<void>>();
  private readonly idleWaiters: Array<() => void> = [];
  /** Loads happen one at a time, as on a real server (each needs the whole memory bus). */
  private chain: Promise<void> = Promise.resolve();
  /** Loads per model since the last reset. */
  loads: Record<string, number> = {};

  constructor(private readonly options: VramOptions) {}

  reset(warm: readonly string[]): void {
    this.resident.length = 0;
    this.loads = {};
    for (const name of warm) this.resident.push({ name, lastUsed: 0, inUse: 0 });
  }

  isLoaded(name: string): boolean {
    return this.resident.some((r) => sameOllamaModel(r.name, name));
  }

  loadedNames(): string[] {
    return this.resident.map((r) => r.name);
  }

  /**
   * Makes `name` resident and marks it in use until the returned function is
   * called. Resolves with how long this request waited for a load, in ms
   * (0 when the model was resident), or undefined when the client left.
   */
  async use(name: string, signal: AbortSignal): Promise<{ loadMs: number; done: () => void } | undefined> {
    const started = performance.now();
    let loaded = false;
    for (;;) {
      const found = this.resident.find((r) => sameOllamaModel(r.name, name));
      if (found) {
        found.inUse++;
        found.lastUsed = performance.now();
        let done = false;
        return {
          loadMs: loaded ? performance.now() - started : 0,
          done: () => {
            if (done) return;
            done = true;
            found.inUse--;
            found.lastUsed = performance.now();
            if (found.inUse === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
          },
        };
      }
      const pending = this.loading.get(name) ?? this.load(name, signal);
      loaded = true;
      await pending.catch(() => {});
      if (signal.aborted) return undefined;
    }
  }

  private load(name: string, signal: AbortSignal): Promise<void> {
    const work = this.chain.then(async () => {
      if (this.isLoaded(name)) return;
      await this.makeRoom(signal);
      if (signal.aborted) return;
      await pause(this.options.loadMsByModel?.[name] ?? this.options.loadMs ?? 0, signal);
      if (signal.aborted) return; // a client that leaves during the load aborts it
      this.loads[name] = (this.loads[name] ?? 0) + 1;
      this.resident.push({ name, lastUsed: performance.now(), inUse: 0 });
    });
    this.chain = work.catch(() => {});
    this.loading.set(name, work);
    void work.finally(() => this.loading.delete(name)).catch(() => {});
    return work;
  }

  private async makeRoom(signal: AbortSignal): Promise<void> {
    const max = this.options.maxLoaded;
    if (max === undefined) return;
    while (this.resident.length >= max && !signal.aborted) {
      const idle = this.resident.filter((r) => r.inUse === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (idle) {
        this.resident.splice(this.resident.indexOf(idle), 1);
        return;
      }
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }
}

/** What an emulator has seen, so tests can assert on it (e.g. the most requests ever in flight). */
export interface StatsSnapshot {
  /** Requests received, by `route model` (e.g. `/api/chat gemma3:4b`). */
  requests: Record<string, number>;
  total: number;
  /** Generation requests being handled now (waiting for a slot included). */
  inFlight: number;
  /** The most generation requests ever handled at once. */
  maxInFlight: number;
  /** Slots generating now, and the most ever at once. */
  busySlots: number;
  maxBusySlots: number;
  /** Sum over slots of the time each was generating, in ms. */
  busySlotMs: number;
  /** Requests answered with an injected fault. */
  faulted: number;
  /** The last requests' headers and bodies, newest last (at most 50). */
  recent: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined>; body: unknown }>;
}

export class EmulatorStats {
  private data: StatsSnapshot = EmulatorStats.empty();
  private busySince = new Map<number, number>();
  private nextSlotToken = 0;

  private static empty(): StatsSnapshot {
    return { requests: {}, total: 0, inFlight: 0, maxInFlight: 0, busySlots: 0, maxBusySlots: 0, busySlotMs: 0, faulted: 0, recent: [] };
  }

  record(method: string, path: string, model: string | undefined, headers: StatsSnapshot['recent'][number]['headers'], body: unknown): void {
    const key = model ? `${path} ${model}` : path;
    this.data.requests[key] = (this.data.requests[key] ?? 0) + 1;
    this.data.total++;
    this.data.recent.push({ method, path, headers, body });
    if (this.data.recent.length > 50) this.data.recent.shift();
  }

  /** Marks a generation request as in flight; call the returned function when it ends. */
  enter(): () => void {
    this.data.inFlight++;
    this.data.maxInFlight = Math.max(this.data.maxInFlight, this.data.inFlight);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.data.inFlight--;
    };
  }

  /** Marks a slot as generating; call the returned function when it is free again. */
  busy(): () => void {
    const token = this.nextSlotToken++;
    this.busySince.set(token, performance.now());
    this.data.busySlots++;
    this.data.maxBusySlots = Math.max(this.data.maxBusySlots, this.data.busySlots);
    return () => {
      const since = this.busySince.get(token);
      if (since === undefined) return;
      this.busySince.delete(token);
      this.data.busySlots--;
      this.data.busySlotMs += performance.now() - since;
    };
  }

  faulted(): void {
    this.data.faulted++;
  }

  snapshot(): StatsSnapshot {
    const now = performance.now();
    const open = [...this.busySince.values()].reduce((sum, since) => sum + (now - since), 0);
    return structuredClone({ ...this.data, busySlotMs: this.data.busySlotMs + open });
  }

  reset(): void {
    const inFlight = this.data.inFlight;
    this.data = EmulatorStats.empty();
    // Requests and slots active now stay counted, so their ends balance.
    this.data.inFlight = inFlight;
    this.data.maxInFlight = inFlight;
    const now = performance.now();
    for (const token of this.busySince.keys()) this.busySince.set(token, now);
    this.data.busySlots = this.busySince.size;
    this.data.maxBusySlots = this.busySince.size;
  }
}

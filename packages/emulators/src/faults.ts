import { z } from 'zod';

/**
 * A scripted failure. Modes:
 * - `down`: stop listening (clients see connection refused), for `forMs` or until cleared;
 * - `reset`: accept the connection, then destroy it (connection reset);
 * - `hang`: never answer;
 * - `slow`: answer normally after `delayMs` (before any header is sent);
 * - `error`: answer `status` with the provider's own error body;
 * - `error-200`: OpenRouter's HTTP-200 body carrying `{"error":{…}}` (openai-compatible only);
 * - `drop-stream`: cut the connection after `afterChunks` streamed chunks;
 * - `stream-error`: send the provider's mid-stream error form after `afterChunks` chunks;
 * - `stall-stream`: go quiet after `afterChunks` chunks, the connection left open;
 * - `malformed-chunk`: send one event that is not valid JSON after `afterChunks` chunks, then go on.
 */
export const FaultSchema = z.strictObject({
  mode: z.enum(['down', 'reset', 'hang', 'slow', 'error', 'error-200', 'drop-stream', 'stream-error', 'stall-stream', 'malformed-chunk']),
  status: z.number().int().min(400).max(599).optional(),
  message: z.string().optional(),
  delayMs: z.number().int().min(0).optional(),
  afterChunks: z.number().int().min(0).optional(),
  /** Share of matching requests that fail, 0..1 (default 1: all). */
  fraction: z.number().min(0).max(1).optional(),
  /** Fail only this many requests, then stop. */
  times: z.number().int().positive().optional(),
  /**
   * Only requests whose path contains this. Without it a fault hits work
   * (POST) requests only: probes such as /api/version keep answering, as
   * they do on a real server whose model is failing.
   */
  route: z.string().optional(),
  /** Only requests for this model. */
  model: z.string().optional(),
  /**
   * For an `error` 429: how long the provider asks the client to wait, as it
   * says it (a `retry-after` header; for Gemini, a RetryInfo detail in the body).
   */
  retryAfterS: z.number().min(0).optional(),
  /** For `down`: come back up after this long. */
  forMs: z.number().int().positive().optional(),
  /** Seed for `fraction`, so a run can be repeated. */
  seed: z.number().int().optional(),
});
export type Fault = z.infer<typeof FaultSchema>;

/** Faults that only a streamed answer can show. */
const STREAM_MODES = new Set<Fault['mode']>(['drop-stream', 'stream-error', 'stall-stream', 'malformed-chunk']);

interface ActiveFault {
  fault: Fault;
  used: number;
  random: () => number;
}

/** The faults in force on one emulator; each request asks whether one applies to it. */
export class FaultInjector {
  private active: ActiveFault[] = [];

  add(fault: Fault): void {
    this.active.push({ fault: FaultSchema.parse(fault), used: 0, random: mulberry32(fault.seed ?? 1) });
  }

  clear(): void {
    this.active = [];
  }

  list(): Fault[] {
    return this.active.map((a) => a.fault);
  }

  /** The fault to apply to this request, if any (consuming one of its `times`). */
  pick(method: string, path: string, model: string | undefined, isStream: boolean): Fault | undefined {
    for (const entry of this.active) {
      const { fault } = entry;
      if (fault.mode === 'down') continue;
      if (!fault.route && method !== 'POST') continue;
      if (STREAM_MODES.has(fault.mode) && !isStream) continue;
      if (fault.route && !path.includes(fault.route)) continue;
      if (fault.model && fault.model !== model) continue;
      if (fault.times !== undefined && entry.used >= fault.times) continue;
      if (fault.fraction !== undefined && entry.random() >= fault.fraction) continue;
      entry.used++;
      return fault;
    }
    return undefined;
  }
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

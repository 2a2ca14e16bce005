import type { Fault } from './faults.js';
import { pause } from './http.js';

export interface TimingOptions {
  /** Time before the first token (prompt processing). @defaultValue 0 */
  timeToFirstTokenMs?: number;
  /** Time between tokens. @defaultValue 0 */
  perTokenMs?: number;
}

export type StreamStep = 'write' | 'drop' | 'error' | 'stall' | 'malformed';

/**
 * Plays tokens out at the configured pace, calling `emit` for each; a
 * mid-stream fault turns the chunk at `afterChunks` into a drop or an error.
 * Returns how the stream ended.
 */
export async function playTokens(
  tokens: readonly string[],
  timing: TimingOptions,
  signal: AbortSignal,
  fault: Fault | undefined,
  emit: (token: string, index: number) => void,
  /** Writes one event the client cannot parse (the `malformed-chunk` fault); the stream goes on after it. */
  emitMalformed: () => void = () => {},
): Promise<'complete' | 'drop' | 'error' | 'aborted'> {
  await pause(timing.timeToFirstTokenMs ?? 0, signal);
  for (const [index, token] of tokens.entries()) {
    if (signal.aborted) return 'aborted';
    const step = faultStep(fault, index);
    if (step === 'stall') return stall(signal);
    if (step === 'malformed') emitMalformed();
    else if (step !== 'write') return step;
    emit(token, index);
    if (index < tokens.length - 1) await pause(timing.perTokenMs ?? 0, signal);
  }
  const last = faultStep(fault, tokens.length);
  if (last === 'stall') return stall(signal);
  if (last === 'malformed') emitMalformed();
  return last === 'write' || last === 'malformed' ? (signal.aborted ? 'aborted' : 'complete') : last;
}

/** The upstream goes quiet with the connection open, until the client gives up. */
async function stall(signal: AbortSignal): Promise<'aborted'> {
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  return 'aborted';
}

function faultStep(fault: Fault | undefined, index: number): StreamStep {
  if (!fault || index !== (fault.afterChunks ?? 1)) return 'write';
  if (fault.mode === 'drop-stream') return 'drop';
  if (fault.mode === 'stream-error') return 'error';
  if (fault.mode === 'stall-stream') return 'stall';
  if (fault.mode === 'malformed-chunk') return 'malformed';
  return 'write';
}

/** The time a whole non-streamed answer takes. */
export function generationMs(tokenCount: number, timing: TimingOptions): number {
  return (timing.timeToFirstTokenMs ?? 0) + Math.max(0, tokenCount - 1) * (timing.perTokenMs ?? 0);
}

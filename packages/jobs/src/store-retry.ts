/**
 * Redis being away (down, restarting, loading its data, a cluster failing
 * over) is never a job's fault. These helpers tell that apart from real
 * errors, and wait it out where a write must land.
 */

/** ioredis gave up on a command because Redis could not be reached, or Redis said "not now". */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (err.message === 'Connection is closed.' || err.message.startsWith("Stream isn't writeable")) return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT') return true;
  // Redis's own "try again": restarting with its AOF, or a cluster between masters.
  return /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY)\b/.test(err.message);
}

/** Redis refused a write for its memory limit (maxmemory, with a policy that evicts nothing): an operator's to fix, not the request's. */
export function isStoreFull(err: unknown): boolean {
  return err instanceof Error && /^OOM\b/.test(err.message);
}

/** Redis cannot take a write now, for no fault of the job: away (see isStoreUnavailable) or full (isStoreFull). */
export function isStoreAwayOrFull(err: unknown): boolean {
  return isStoreUnavailable(err) || isStoreFull(err);
}

export interface UntilStoredOptions {
  /** Give up (rethrow) after this long. @defaultValue 60 s */
  deadlineMs?: number;
  /** Told of each retry, e.g. to log once. */
  onRetry?: (err: Error, attempt: number) => void;
}

/**
 * Runs a store call, retrying it while Redis is unavailable or full (100 ms
 * doubling to 2 s between tries) until `deadlineMs`; any other error is
 * rethrown at once. A full Redis is waited for too: its memory frees as
 * finished records expire or an operator raises the limit, and a worker
 * holding a GPU's answer must not drop it for that. Only for calls that are
 * safe to repeat: Mana's record scripts check the job's state first, so a
 * repeat of one that did land changes nothing.
 */
export async function untilStored<T>(call: () => Promise<T>, options: UntilStoredOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isStoreAwayOrFull(err) || Date.now() >= deadline) throw err;
      options.onRetry?.(err as Error, attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** (attempt - 1), 2_000)));
    }
  }
}

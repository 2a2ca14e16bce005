import { CancelledError, ProviderError } from '@mana/errors';
import type { CallOptions } from './types.js';

/** Ten minutes matches the longest generations we expect; callers pass their own. */
export const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * One call's abort signal: the caller's cancellation and the gateway's
 * timeout combined, remembering which of the two fired so the error can say.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly timeout: AbortSignal;

  constructor(private readonly options: CallOptions = {}) {
    this.timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.signal = options.signal ? AbortSignal.any([options.signal, this.timeout]) : this.timeout;
  }

  get timeoutMs(): number {
    return this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * The error to raise when the call ended because of this deadline, or
   * undefined when the deadline has not fired (the failure was the provider's).
   */
  abortError(context: { provider: string; target: string }, cause: unknown): CancelledError | ProviderError | undefined {
    if (this.options.signal?.aborted) return new CancelledError('the call was cancelled');
    if (this.timeout.aborted) {
      return new ProviderError('provider_timeout', `${context.target} did not answer within ${this.timeoutMs} ms`, {
        ...context,
        cause,
      });
    }
    return undefined;
  }
}

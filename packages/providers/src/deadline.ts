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
  /** Fires when a stream sends no first token, or stalls between chunks, in time (see progress). */
  private readonly quiet = new AbortController();
  private quietTimer: NodeJS.Timeout | undefined;
  private quietReason: string | undefined;
  private started = false;

  constructor(private readonly options: CallOptions = {}) {
    this.timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signals = [this.timeout, this.quiet.signal, ...(options.signal ? [options.signal] : [])];
    this.signal = AbortSignal.any(signals);
  }

  /**
   * For a stream: arms the first-token deadline. Each chunk then calls
   * progress(), which re-arms the idle deadline. finish() disarms both.
   */
  streaming(): this {
    this.arm(this.options.firstTokenMs, `sent no first token within ${this.options.firstTokenMs} ms`);
    return this;
  }

  /** A chunk arrived; `token`: it carried text. Before the first token, other chunks (a role, a keep-alive) do not count. */
  progress(token: boolean): void {
    if (!token && !this.started) return;
    this.started = true;
    this.arm(this.options.idleMs, `stalled: no chunk for ${this.options.idleMs} ms`);
  }

  finish(): void {
    clearTimeout(this.quietTimer);
  }

  private arm(ms: number | undefined, reason: string): void {
    clearTimeout(this.quietTimer);
    if (ms === undefined) return;
    this.quietTimer = setTimeout(() => {
      this.quietReason = reason;
      this.quiet.abort();
    }, ms);
    this.quietTimer.unref();
  }

  /** Whether the stream had sent anything before it ended. */
  get hasStarted(): boolean {
    return this.started;
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
    if (this.quiet.signal.aborted) return new ProviderError('provider_timeout', `${context.target} ${this.quietReason}`, { ...context, cause });
    if (this.timeout.aborted) {
      return new ProviderError('provider_timeout', `${context.target} did not answer within ${this.timeoutMs} ms`, {
        ...context,
        cause,
      });
    }
    return undefined;
  }
}

import { type CancelledError, ProviderError, providerCodeForStatus } from '@mana/errors';
import type { Deadline } from '../deadline.js';
import { toKnownError } from '../known-error.js';

/**
 * The only code that inspects ollama-js errors. `ResponseError` is not
 * exported by the SDK, so it is recognised by name and `status_code`; an
 * `{error}` line mid-stream arrives as a plain Error with no status.
 */
export function toProviderError(err: unknown, context: { provider: string; target: string }, deadline: Deadline): ProviderError | CancelledError {
  const known = toKnownError(err, context, deadline);
  if (known) return known;
  if (err instanceof Error && err.name === 'ResponseError') {
    const status = (err as Error & { status_code?: number }).status_code ?? 500;
    // "server busy … maximum pending requests exceeded" (OLLAMA_MAX_QUEUE full) is backpressure from a
    // server that is up: a 429 in all but number, tried again shortly, never a reason to mark it down.
    const code = status === 503 && /server busy/i.test(err.message) ? 'provider_rate_limited' : providerCodeForStatus(status, err.message);
    return new ProviderError(code, `${context.target} answered ${status}: ${err.message}`, { ...context, upstreamStatus: status, cause: err });
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return new ProviderError('provider_unavailable', `${context.target}: the call was aborted`, { ...context, cause: err });
  }
  // A mid-stream error line or a stream that ended without `done`: the server failed part-way.
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('provider_unavailable', `${context.target} failed mid-response: ${message}`, { ...context, cause: err });
}

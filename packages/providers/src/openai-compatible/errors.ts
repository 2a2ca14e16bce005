import OpenAI from 'openai';
import { type CancelledError, ProviderError, providerCodeForStatus } from '@mana/errors';
import type { Deadline } from '../deadline.js';
import { toKnownError } from '../known-error.js';
import { retryAfterMs } from '../transport-error.js';

/**
 * The only code that inspects openai SDK errors. An APIError without a
 * status is a mid-stream `{error}` chunk (OpenRouter's form): the upstream
 * failed part-way, which another target may not.
 */
export function toProviderError(err: unknown, context: { provider: string; target: string }, deadline: Deadline): ProviderError | CancelledError {
  // The SDK's own timeout error is checked first: it would otherwise read as a network failure.
  if (err instanceof OpenAI.APIConnectionTimeoutError && !deadline.signal.aborted) {
    return new ProviderError('provider_timeout', `${context.target} timed out`, { ...context, cause: err });
  }
  const known = toKnownError(err, context, deadline);
  if (known) return known;
  if (err instanceof OpenAI.APIConnectionError) {
    return new ProviderError('provider_unavailable', `${context.target} is unreachable`, { ...context, cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    if (err.status === undefined) return fromErrorBody(err.error, context, err);
    const code = providerCodeForStatus(err.status, `${err.message} ${err.code ?? ''}`);
    return new ProviderError(code, `${context.target} answered ${err.message}`, {
      ...context,
      upstreamStatus: err.status,
      retryAfterMs: retryAfterMs(err.headers?.get('retry-after-ms')) ?? retryAfterMs(err.headers?.get('retry-after')),
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('provider_unavailable', `${context.target} failed: ${message}`, { ...context, cause: err });
}

/**
 * An error object found in a body: a mid-stream chunk, or OpenRouter's
 * HTTP-200 body `{"error":{"code":502,"message":…}}`, where `code` is the
 * upstream's HTTP status.
 */
export function fromErrorBody(error: unknown, context: { provider: string; target: string }, cause?: unknown): ProviderError {
  const body = (error ?? {}) as { code?: unknown; message?: unknown };
  const status = typeof body.code === 'number' ? body.code : undefined;
  const message = typeof body.message === 'string' ? body.message : 'unknown error';
  const code = status === undefined ? 'provider_unavailable' : providerCodeForStatus(status);
  return new ProviderError(code, `${context.target} reported an error in its response: ${message}`, { ...context, upstreamStatus: status, cause });
}

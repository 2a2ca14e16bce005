import type { ErrorCode } from './codes.js';
import { ManaError, type ManaErrorOptions } from './mana-error.js';

/** The codes a failed provider call can carry; the router acts on these. */
export type ProviderErrorCode = Extract<
  ErrorCode,
  'provider_unavailable' | 'provider_timeout' | 'provider_rate_limited' | 'model_unavailable' | 'provider_auth' | 'provider_rejected' | 'context_length_exceeded'
>;

export interface ProviderErrorDetails extends ManaErrorOptions {
  /** Provider id, e.g. `ollama`. */
  provider: string;
  /** The `provider/model` target that failed. */
  target: string;
  /** The provider's HTTP status, when it answered at all. */
  upstreamStatus?: number | undefined;
  /** How long the provider asked us to wait (429 retry-after), in ms. */
  retryAfterMs?: number | undefined;
  /** A connection that was reset (not refused): the kind of failure that is gone a moment later. */
  reset?: boolean | undefined;
}

/** A provider call failed; `code` says whether another target may do better. */
export class ProviderError extends ManaError {
  override name = 'ProviderError';
  readonly provider: string;
  readonly target: string;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly reset: boolean;

  constructor(code: ProviderErrorCode, message: string, details: ProviderErrorDetails) {
    super(code, message, details);
    this.provider = details.provider;
    this.target = details.target;
    this.upstreamStatus = details.upstreamStatus;
    this.retryAfterMs = details.retryAfterMs;
    this.reset = details.reset ?? false;
  }
}

/**
 * The code for a provider's HTTP status, after openai-node's shouldRetry:
 * 408/409/429/5xx are the provider's trouble, 401/403 ours, 404 a model the
 * provider lacks, any other 4xx the request's fault.
 */
export function providerCodeForStatus(status: number, message = ''): ProviderErrorCode {
  if ((status === 400 || status === 413) && isContextLengthMessage(message)) return 'context_length_exceeded';
  if (status === 401 || status === 403) return 'provider_auth';
  if (status === 404) return 'model_unavailable';
  if (status === 429) return 'provider_rate_limited';
  if (status === 408 || status === 504) return 'provider_timeout';
  if (status === 409 || status >= 500) return 'provider_unavailable';
  if (status >= 400) return 'provider_rejected';
  return 'provider_unavailable';
}

/**
 * A provider's way of saying the prompt is longer than the model's context,
 * in the wordings seen from OpenAI and the OpenAI-compatible APIs ("maximum
 * context length is … tokens", code context_length_exceeded), vLLM (the
 * same sentence), Gemini ("The input token count (N) exceeds the maximum
 * number of tokens allowed (M)") and Ollama's embeddings ("input length
 * exceeds the context length").
 */
export function isContextLengthMessage(message: string): boolean {
  return /context_length_exceeded|maximum context length|exceeds the (maximum )?context length|input token count .* exceeds the maximum number of tokens|prompt is too long|too many (input )?tokens/i.test(
    message,
  );
}

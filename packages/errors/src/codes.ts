/**
 * The closed set of error codes Mana speaks, on the wire (OpenAI's `error.code`)
 * and across Redis. Every decision about an error — its HTTP status, whether
 * the router may try the next target — is made here, from the code alone, so
 * an error that was serialized into Redis and read back behaves the same.
 */
export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'model_not_found',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'budget_exhausted',
  'provider_unavailable',
  'provider_timeout',
  'provider_rate_limited',
  'model_unavailable',
  'provider_auth',
  'provider_rejected',
  'context_length_exceeded',
  'chain_exhausted',
  'cancelled',
  'config_invalid',
  'service_unavailable',
  'internal_error',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * How the router treats a failed hop:
 * - `retryable`: the target failed for reasons of its own; try the next one.
 * - `model_unavailable`: this provider lacks the model; try the next one.
 * - `too_long`: the prompt does not fit this model's context; try the next
 *   one (preferring targets with `long_context`).
 * - `auth`: our key for that provider is wrong; try the next one and mark the
 *   provider unhealthy (it is our misconfiguration, not the client's fault).
 * - `client`: the request itself is bad; no other target will do better.
 * - `fatal`: not a hop failure at all (cancelled, internal, config).
 */
export type ErrorClass = 'retryable' | 'model_unavailable' | 'too_long' | 'auth' | 'client' | 'fatal';

export function classOf(code: ErrorCode): ErrorClass {
  switch (code) {
    case 'provider_unavailable':
    case 'provider_timeout':
    case 'provider_rate_limited':
      return 'retryable';
    case 'model_unavailable':
      return 'model_unavailable';
    case 'context_length_exceeded':
      return 'too_long';
    case 'provider_auth':
      return 'auth';
    case 'invalid_request':
    case 'unauthorized':
    case 'not_found':
    case 'model_not_found':
    case 'payload_too_large':
    case 'unsupported_media_type':
    case 'rate_limited':
    case 'budget_exhausted':
    case 'provider_rejected':
      return 'client';
    case 'chain_exhausted':
    case 'cancelled':
    case 'config_invalid':
    case 'service_unavailable':
    case 'internal_error':
      return 'fatal';
  }
}

/** True when a failed hop with this code should move on to the next target. */
export function isRerouteable(code: ErrorCode): boolean {
  const cls = classOf(code);
  return cls === 'retryable' || cls === 'model_unavailable' || cls === 'too_long' || cls === 'auth';
}

/** The HTTP status a client sees for an error with this code. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'invalid_request':
    case 'provider_rejected':
    case 'context_length_exceeded':
      return 400;
    case 'unauthorized':
      return 401;
    case 'not_found':
    case 'model_not_found':
      return 404;
    case 'cancelled':
      return 499;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'rate_limited':
      return 429;
    case 'budget_exhausted':
      return 402;
    case 'provider_unavailable':
    case 'provider_rate_limited':
    case 'model_unavailable':
    case 'provider_auth':
    case 'chain_exhausted':
      return 502;
    case 'provider_timeout':
      return 504;
    case 'service_unavailable':
      return 503;
    case 'config_invalid':
    case 'internal_error':
      return 500;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

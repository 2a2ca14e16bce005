import { type ErrorCode, isErrorCode, isRerouteable } from './codes.js';
import { ManaError } from './mana-error.js';
import { ProviderError } from './provider-error.js';

/** An error as it crosses Redis: plain data, read back by `code`, never by class. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  provider?: string | undefined;
  target?: string | undefined;
  status?: number | undefined;
  /** How long the provider asked us to wait before trying again (a 429's Retry-After). */
  retryAfterMs?: number | undefined;
  /** The connection was reset: worth a quick second try. */
  reset?: boolean | undefined;
}

/**
 * Any thrown value → data. Unknown errors become internal_error with a
 * generic message: their text may hold internals a client must not see.
 */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof ManaError) {
    return {
      name: err.name,
      code: err.code,
      message: err.message,
      retryable: isRerouteable(err.code),
      ...(err instanceof ProviderError ? { provider: err.provider, target: err.target, status: err.upstreamStatus } : {}),
      ...(err instanceof ProviderError && err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      ...(err instanceof ProviderError && err.reset ? { reset: true } : {}),
    };
  }
  return { name: 'InternalError', code: 'internal_error', message: 'internal error', retryable: false };
}

/** Reads back what serializeError wrote, tolerating anything malformed. */
export function toSerializedError(value: unknown): SerializedError {
  const v = (value ?? {}) as Partial<SerializedError>;
  const code = isErrorCode(v.code) ? v.code : 'internal_error';
  return {
    name: typeof v.name === 'string' ? v.name : 'Error',
    code,
    message: typeof v.message === 'string' ? v.message : 'unknown error',
    retryable: isRerouteable(code),
    ...(v.provider ? { provider: v.provider } : {}),
    ...(v.target ? { target: v.target } : {}),
    ...(typeof v.status === 'number' ? { status: v.status } : {}),
  };
}

import { ApiError } from '@google/genai';
import { type CancelledError, ProviderError, providerCodeForStatus } from '@mana/errors';
import type { Deadline } from '../deadline.js';
import { toKnownError } from '../known-error.js';

/**
 * The only code that inspects @google/genai errors. `ApiError.message` is the
 * whole JSON error body; its `error.status` ("RESOURCE_EXHAUSTED",
 * "UNAVAILABLE", …) and `error.message` make a readable message. A bad key
 * comes back as 400 with reason API_KEY_INVALID: that is our fault, not the client's.
 */
export function toProviderError(err: unknown, context: { provider: string; target: string }, deadline: Deadline): ProviderError | CancelledError {
  const known = toKnownError(err, context, deadline);
  if (known) return known;
  if (err instanceof ApiError || (err instanceof Error && err.name === 'ApiError')) {
    const status = (err as ApiError).status ?? 500;
    const body = parseBody(err.message);
    const keyInvalid = body?.details?.some((d) => d.reason === 'API_KEY_INVALID') ?? false;
    const what = [body?.status, body?.message].filter(Boolean).join(': ') || err.message;
    const code = keyInvalid ? 'provider_auth' : providerCodeForStatus(status, what);
    const retryAfterMs = retryDelayMs(body);
    return new ProviderError(code, `${context.target} answered ${status}: ${what}`, {
      ...context,
      upstreamStatus: status,
      cause: err,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('provider_unavailable', `${context.target} failed: ${message}`, { ...context, cause: err });
}

interface GoogleErrorBody {
  status?: string;
  message?: string;
  details?: Array<{ '@type'?: string; reason?: string; retryDelay?: string }>;
}

/** Gemini's quota 429 says when to come back in a google.rpc.RetryInfo detail: `retryDelay: "7s"` (a protobuf Duration). */
function retryDelayMs(body: GoogleErrorBody | undefined): number | undefined {
  const info = body?.details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'));
  const match = info?.retryDelay ? /^(\d+(?:\.\d+)?)s$/.exec(info.retryDelay) : null;
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

function parseBody(message: string): GoogleErrorBody | undefined {
  // A mid-stream error reads "got status: INTERNAL. {json}"; a status error is the JSON alone.
  const start = message.indexOf('{');
  if (start === -1) return undefined;
  try {
    const parsed = JSON.parse(message.slice(start)) as { error?: GoogleErrorBody };
    return parsed.error;
  } catch {
    return undefined;
  }
}

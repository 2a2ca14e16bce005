import { ProviderError } from '@mana/errors';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
/** The server was there and dropped the connection: unlike a refusal, often gone on the next try. */
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const SLOW = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Network-level failures, the same whichever SDK saw them: undici's
 * `TypeError: fetch failed` with the socket error on `cause`, or `terminated`
 * when a response body was cut off mid-way. Undefined when `err` is not one.
 */
export function toTransportError(err: unknown, context: { provider: string; target: string }): ProviderError | undefined {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 6; e = e.cause) chain.push(e);
  // The socket's own code, deepest in the chain, says the most.
  for (const e of chain) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && UNREACHABLE.has(code)) {
      return new ProviderError('provider_unavailable', `${context.target} is unreachable (${code})`, { ...context, cause: err, reset: RESET.has(code) });
    }
    if (code && SLOW.has(code)) {
      return new ProviderError('provider_timeout', `${context.target} timed out (${code})`, { ...context, cause: err });
    }
  }
  const cut = chain.find((e) => e.message === 'terminated' || e.message === 'fetch failed');
  if (cut) {
    return new ProviderError('provider_unavailable', `${context.target} closed the connection (${cut.message})`, { ...context, cause: err, reset: cut.message === 'terminated' });
  }
  return undefined;
}

/** Milliseconds from a `retry-after` header (seconds or an HTTP date), if any. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

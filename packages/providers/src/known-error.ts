import { CancelledError, ProviderError } from '@mana/errors';
import type { Deadline } from './deadline.js';
import { toTransportError } from './transport-error.js';

/**
 * What every adapter's error mapping checks first, whatever the SDK: an error
 * we made ourselves, the call's own deadline or cancellation, or a network
 * failure. Undefined when only the SDK-specific rules can say.
 */
export function toKnownError(err: unknown, context: { provider: string; target: string }, deadline: Deadline): ProviderError | CancelledError | undefined {
  if (err instanceof ProviderError || err instanceof CancelledError) return err;
  return deadline.abortError(context, err) ?? toTransportError(err, context);
}

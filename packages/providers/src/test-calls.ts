import { CancelledError, ProviderError } from '@mana/errors';

/** A tiny PNG-ish payload: the bytes only have to survive the trip, not render. */
export const IMAGE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]).toString('base64');

/** The typed error a provider call failed with; fails the test if it succeeded. */
export async function failure(promise: Promise<unknown>): Promise<ProviderError | CancelledError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProviderError || err instanceof CancelledError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

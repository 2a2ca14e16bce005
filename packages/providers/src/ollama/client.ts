import { Ollama } from 'ollama';
import { httpFetch } from './http-fetch.js';

/**
 * A client for one call. ollama-js has no per-call signal for non-streamed
 * requests, so the call's signal goes in through the injected fetch (joined
 * with the SDK's own, which `abort()` on a stream uses).
 */
export function createOllamaClient(host: string, signal: AbortSignal): Ollama {
  return new Ollama({
    host,
    fetch: (input, init) => httpFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
  });
}

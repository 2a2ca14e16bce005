import { Ollama } from 'ollama';
import { type MalformedChunkHook, skippingMalformedEvents } from '../lenient-stream.js';
import { httpFetch } from './http-fetch.js';

/**
 * A client for one call. ollama-js has no per-call signal for non-streamed
 * requests, so the call's signal goes in through the injected fetch (joined
 * with the SDK's own, which `abort()` on a stream uses).
 */
export function createOllamaClient(host: string, signal: AbortSignal, endpoint = 'ollama', onMalformedChunk?: MalformedChunkHook): Ollama {
  const joined = (input: string | URL | Request, init?: RequestInit) => httpFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
  return new Ollama({ host, fetch: skippingMalformedEvents(joined, endpoint, onMalformedChunk) });
}

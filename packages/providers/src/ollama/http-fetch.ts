import { Agent, type OutgoingHttpHeaders, request } from 'node:http';
import { BufferedResponse } from './buffered-response.js';

/**
 * Keep-alive connections to the GPU servers, shared by every call of the
 * process. An idle one is closed after 30 s, or a second before the
 * server's announced `Keep-Alive: timeout=N` (Node heeds that hint only
 * when the agent has a timeout of its own): a request sent on a connection
 * the server is closing as it idles out is reset unanswered, and the GPU
 * would look down for a moment. Requests in progress are not timed by it.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 1024, timeout: 30_000 });

/**
 * A `fetch` for ollama-js's whole-body calls (non-streamed chat, embed,
 * version, ps) over node:http. undici's fetch was the largest single CPU
 * cost per job in the gateway's profile; this answers a Response read whole
 * (BufferedResponse) with a fraction of the machinery. Streamed calls keep the global fetch,
 * whose web stream the SDK reads line by line.
 */
export function httpFetch(input: string | URL | Request, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (url.protocol !== 'http:' || (typeof init.body === 'string' && /"stream"\s*:\s*true/.test(init.body))) return fetch(input, init);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: plainHeaders(init.headers), agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve(new BufferedResponse(Buffer.concat(chunks), res.statusCode ?? 500, res.statusMessage ?? '', responseHeaders, url.href));
      });
    });
    req.on('error', (err) => reject(toFetchError(err)));
    if (typeof init.body === 'string') req.end(init.body);
    else req.end();
  });
}

/** The request's headers as node:http takes them; ollama-js passes a plain object, which needs no Headers made. */
function plainHeaders(headers: RequestInit['headers']): OutgoingHttpHeaders {
  if (headers === undefined) return {};
  if (headers instanceof Headers || Array.isArray(headers)) return Object.fromEntries(new Headers(headers).entries());
  return headers as OutgoingHttpHeaders;
}

/** The shape undici gives network failures, so error mapping is the same for both paths. */
function toFetchError(err: Error): Error {
  if (err.name === 'AbortError') return err;
  return new TypeError('fetch failed', { cause: err });
}

import { Agent, request } from 'node:http';

/** Keep-alive connections to the GPU servers, shared by every call of the process. */
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

/**
 * A `fetch` for ollama-js's whole-body calls (non-streamed chat, embed,
 * version, ps) over node:http. undici's fetch was the largest single CPU
 * cost per job in the gateway's profile; this answers the same Response
 * with a fraction of the machinery. Streamed calls keep the global fetch,
 * whose web stream the SDK reads line by line.
 */
export function httpFetch(input: string | URL | Request, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (url.protocol !== 'http:' || (typeof init.body === 'string' && /"stream"\s*:\s*true/.test(init.body))) return fetch(input, init);
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  return new Promise((resolve, reject) => send(url, init, headers, resolve, reject, 0));
}

/** Sends again at most this many times, each only after a reused connection was reset (see send). */
const MAX_RESENDS = 3;

/**
 * One attempt. A kept-alive connection the server is closing as the request
 * goes out (its idle timeout: Node's 5 s, a proxy's) is reset before any
 * answer; the server never read the request, so it is sent again on another
 * connection, as Node's documentation advises (`request.reusedSocket`). A
 * reset on a new connection, or after an answer began, is the server's and
 * goes to the caller.
 */
function send(
  url: URL,
  init: RequestInit & { signal: AbortSignal },
  headers: Record<string, string>,
  resolve: (r: Response) => void,
  reject: (e: Error) => void,
  resends: number,
): void {
  let answered = false;
  const req = request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal }, (res) => {
    answered = true;
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: responseHeaders }));
    });
  });
  req.on('error', (err: NodeJS.ErrnoException) => {
    const stale = req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
    if (stale && !init.signal.aborted && resends < MAX_RESENDS) return send(url, init, headers, resolve, reject, resends + 1);
    reject(toFetchError(err));
  });
  if (typeof init.body === 'string') req.end(init.body);
  else req.end();
}

/** The shape undici gives network failures, so error mapping is the same for both paths. */
function toFetchError(err: Error): Error {
  if (err.name === 'AbortError') return err;
  return new TypeError('fetch failed', { cause: err });
}

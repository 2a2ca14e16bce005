import { type Socket, createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { httpFetch } from './http-fetch.js';

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/**
 * A server that announces a 2 s keep-alive timeout, answers each
 * connection's first request and resets the connection on its second: what
 * a request crossing the server's idle close meets (Node servers announce
 * their 5 s keepAliveTimeout this way).
 */
async function resettingServer(): Promise<{ url: string; connections: () => number; closed: () => number }> {
  let connections = 0;
  let closed = 0;
  const server = createServer((socket: Socket) => {
    connections++;
    socket.on('close', () => closed++);
    let requests = 0;
    socket.on('data', (data) => {
      if (!data.toString().includes('\r\n\r\n')) return;
      requests++;
      if (requests > 1) return void socket.resetAndDestroy();
      const body = '{"ok":true}';
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\nkeep-alive: timeout=2\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, closed: () => closed };
}

it("closes an idle connection before the server's announced keep-alive timeout, so a later call is not sent on a closing one", async () => {
  const server = await resettingServer();
  const call = () => httpFetch(`${server.url}/api/embed`, { method: 'POST', body: '{"model":"m"}', signal: new AbortController().signal });
  expect(await (await call()).json()).toEqual({ ok: true });
  // The client closes the idle connection itself (this server never would), a second before the announced 2 s.
  await expect.poll(() => server.closed(), { timeout: 3_000, interval: 50 }).toBe(1);
  expect(await (await call()).json()).toEqual({ ok: true });
  expect(server.connections()).toBe(2);
});

it('a reset connection is the server failing: the caller is told (and moves the job on)', async () => {
  const server = createServer((socket) => socket.on('data', () => socket.resetAndDestroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as { port: number };
  const failure = await httpFetch(`http://127.0.0.1:${port}/api/embed`, { method: 'POST', body: '{}', signal: new AbortController().signal }).catch((err: Error) => err);
  expect(failure).toBeInstanceOf(TypeError);
  expect(((failure as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
});

it('answers a Response read whole: json() or text() once, the status and headers as sent, the body stream on request', async () => {
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    if (req.url === '/missing') return void res.writeHead(404, 'Not Found', { 'content-type': 'application/json' }).end('{"error":"model \\"x\\" not found"}');
    res.writeHead(200, { 'content-type': 'application/json', 'x-extra': 'yes' }).end('{"embeddings":[[0.5,-1]]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as { port: number };
  const call = (path: string) =>
    httpFetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', signal: new AbortController().signal });

  const ok = await call('/api/embed');
  expect([ok.ok, ok.status, ok.headers.get('x-extra'), ok.bodyUsed]).toEqual([true, 200, 'yes', false]);
  const copy = ok.clone();
  expect(await ok.json()).toEqual({ embeddings: [[0.5, -1]] });
  expect(ok.bodyUsed).toBe(true);
  await expect(ok.text()).rejects.toThrow(TypeError);
  expect(await copy.text()).toBe('{"embeddings":[[0.5,-1]]}');

  const missing = await call('/missing');
  expect([missing.ok, missing.status, missing.statusText]).toEqual([false, 404, 'Not Found']);
  expect(await new Response(missing.body).json()).toEqual({ error: 'model "x" not found' });
  expect(missing.bodyUsed).toBe(true);
});

import { type Socket, createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { httpFetch } from './http-fetch.js';

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/**
 * A server that answers each connection's first request and resets the
 * connection on its second, as a server closing an idle keep-alive
 * connection does when a request crosses the close (Node's default
 * keepAliveTimeout is 5 s; a proxy's may be shorter).
 */
async function resettingServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket: Socket) => {
    connections++;
    let requests = 0;
    socket.on('data', (data) => {
      if (!data.toString().includes('\r\n\r\n')) return;
      requests++;
      if (requests > 1) return void socket.resetAndDestroy();
      const body = '{"ok":true}';
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

it('sends a request again on a new connection when the reused keep-alive one is reset before any answer', async () => {
  const server = await resettingServer();
  const call = () => httpFetch(`${server.url}/api/embed`, { method: 'POST', body: '{"model":"m"}', signal: new AbortController().signal });
  expect(await (await call()).json()).toEqual({ ok: true });
  // The second call goes out on the kept-alive connection, which the server resets: it is sent once more, on a new one.
  expect(await (await call()).json()).toEqual({ ok: true });
  expect(server.connections()).toBe(2);
});

it('does not send again when a new connection is reset: that is the server failing, and the caller is told', async () => {
  const server = createServer((socket) => socket.on('data', () => socket.resetAndDestroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as { port: number };
  const failure = await httpFetch(`http://127.0.0.1:${port}/api/embed`, { method: 'POST', body: '{}', signal: new AbortController().signal }).catch((err: Error) => err);
  expect(failure).toBeInstanceOf(TypeError);
  expect(((failure as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
});

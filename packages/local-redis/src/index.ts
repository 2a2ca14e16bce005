import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface LocalRedis {
  url: string;
  stop(): void;
}

/** Between PING attempts while a server starts. */
const RETRY_MS = 100;

export const INSTALL_HINT = 'install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_URL';

/**
 * A throwaway redis-server on a free loopback port, keeping nothing on disk:
 * for the demo, the test run and the benchmarks, so none of them depends on
 * (or disturbs) a Redis that happens to run on this machine.
 */
export async function startLocalRedis(): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(`no redis-server on PATH: ${INSTALL_HINT}`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitForRedis(url);
  return { url, stop: () => void child.kill('SIGTERM') };
}

/** Resolves once Redis at `url` answers PING; rejects with the reason after `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {}); // refused while the server starts: expected, retried below
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Redis at ${url} does not answer: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    } finally {
      redis.disconnect();
    }
  }
}

/** A TCP port nobody listens on right now, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

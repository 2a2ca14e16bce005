import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { Redis } from 'ioredis';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One Redis for the whole run: REDIS_URL when set, else a redis-server of our
 * own on a free port (never the machine's shared 6379). Fails fast, saying
 * how to fix it, when neither is possible. Each test then keeps its keys
 * under its own prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let child: ChildProcess | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    if (spawnSync('redis-server', ['--version']).error) {
      throw new Error('tests need Redis: set REDIS_URL, or install redis-server (apt-get install redis-server)');
    }
    const port = await freePort();
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
  }
  await waitForRedis(url);
  project.provide('redisUrl', url);
  return async () => {
    child?.kill('SIGTERM');
  };
}

async function waitForRedis(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {}); // a refused first try is expected while redis-server starts
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Redis at ${url} does not answer: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      redis.disconnect();
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

export interface LocalRedis {
  url: string;
  stop(): void;
}

export interface LocalRedisOptions {
  /** Persist every write to an append-only file (fsync every second), so a restart keeps the data. @defaultValue false */
  appendOnly?: boolean;
}

/** A local Redis a test can take down and bring back on the same port, with its data when AOF is on. */
export interface RestartableRedis extends LocalRedis {
  /** kill -9: no chance to save anything beyond what the AOF already holds. */
  kill(): Promise<void>;
  /** SHUTDOWN NOSAVE: a clean stop (the AOF is flushed). */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it answers. */
  restart(): Promise<void>;
}

/** Between PING attempts while a server starts. */
const RETRY_MS = 100;

export const INSTALL_HINT = 'install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_URL';

/**
 * A throwaway redis-server on a free loopback port, keeping nothing on disk
 * unless asked for an append-only file: for the demo, the test run and the
 * benchmarks, so none of them depends on (or disturbs) a Redis that happens
 * to run on this machine.
 */
/** A server of a test run's own: on loopback, on its port, no snapshots, quiet. */
function ownServerArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--loglevel', 'warning'];
}

export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<RestartableRedis> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(`no redis-server on PATH: ${INSTALL_HINT}`);
  const port = await freePort();
  const dir = options.appendOnly ? mkdtempSync(join(tmpdir(), 'mana-redis-')) : undefined;
  const args = [...ownServerArgs(port), ...(dir ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir] : ['--appendonly', 'no'])];
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));
  await waitForRedis(url);
  return {
    url,
    stop: () => {
      child.kill('SIGTERM');
      if (dir) void exited(child).then(() => rmSync(dir, { recursive: true, force: true }));
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async shutdown() {
      const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => {});
      await redis.call('SHUTDOWN', 'NOSAVE').catch(() => {}); // the connection closes as it stops
      redis.disconnect();
      await exited(child);
    },
    async restart() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await waitForRedis(url);
    },
  };
}

export interface LocalRedisCluster {
  /** Seed nodes as REDIS_CLUSTER_NODES takes them: `127.0.0.1:port,…`. */
  nodes: string;
  stop(): void;
}

/**
 * A throwaway Redis Cluster of `masters` redis-servers on free loopback
 * ports (no replicas), its slots spread evenly by `redis-cli --cluster
 * create`. Its node files live in a temporary directory removed on stop.
 */
export async function startLocalCluster(masters = 3): Promise<LocalRedisCluster> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(`no redis-server on PATH: ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'mana-cluster-'));
  const ports = await distinctFreePorts(masters);
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [...ownServerArgs(port), '--appendonly', 'no', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000'],
      { stdio: 'ignore' },
    ),
  );
  const stop = () => {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((port) => waitForRedis(`redis://127.0.0.1:${port}`)));
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    await Promise.all(ports.map((port) => waitForClusterOk(port)));
    return { nodes: nodes.join(','), stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** Every node must agree the cluster is up (all slots served) before clients use it. */
async function waitForClusterOk(port: number, timeoutMs = 15_000): Promise<void> {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const info = await redis.cluster('INFO');
      if (info.includes('cluster_state:ok')) return;
      if (Date.now() > deadline) throw new Error(`Redis Cluster node ${port} never reached cluster_state:ok:\n${info}`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  } finally {
    redis.disconnect();
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  // A cluster node also listens on port + 10000 (its bus): keep both free.
  while (ports.size < count) {
    const port = await freePort();
    if (port < 55535) ports.add(port);
  }
  return [...ports];
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

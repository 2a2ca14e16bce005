import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { once } from 'node:events';

/**
 * A TCP proxy in front of Redis that holds every chunk, each way, for
 * `delayMs` (settable while it runs): each Redis round trip a request waits
 * for then costs it 2 × delayMs more. Chunks keep their order (timers of
 * one duration fire in the order they were set). Pub/sub messages are
 * delayed too, so a hand-off through a channel counts as the round trip it
 * costs (a publish out, its message back).
 */
export class DelayedRedis {
  delayMs = 0;
  /** Where clients connect instead of Redis; set once listening. */
  url = '';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(private readonly upstream: URL) {
    this.server = createServer((client) => {
      const redis = createConnection({ host: upstream.hostname, port: Number(upstream.port || 6379) });
      for (const s of [client, redis]) {
        s.setNoDelay(true);
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      this.pipe(client, redis);
      this.pipe(redis, client);
    });
  }

  static async start(redisUrl: string): Promise<DelayedRedis> {
    const proxy = new DelayedRedis(new URL(redisUrl));
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    const url = new URL(proxy.upstream);
    url.hostname = '127.0.0.1';
    url.port = String((proxy.server.address() as { port: number }).port);
    proxy.url = url.toString().replace(/\/$/, '');
    return proxy;
  }

  private pipe(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      const send = () => void (to.writable && to.write(chunk));
      if (this.delayMs > 0) setTimeout(send, this.delayMs);
      else send();
    });
    from.on('close', () => to.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Each Redis hold of the measurement, each way: a round trip then costs about 2 × this more. */
const HOLD_MS = 5;

/**
 * How many Redis round trips one request waits for, one at a time: its
 * median latency with every Redis chunk held HOLD_MS each way, less without,
 * over what one PING's round trip gains the same way (which calibrates the
 * timers' own lateness).
 */
export async function roundTripsPerRequest(proxy: DelayedRedis, count: number, task: () => Promise<void>): Promise<number> {
  const { Redis } = await import('ioredis');
  const ping = new Redis(proxy.url, { lazyConnect: true });
  await ping.connect();
  const medianOf = async (n: number, fn: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fn();
      samples.push(performance.now() - t0);
    }
    return samples.sort((a, b) => a - b)[Math.floor(n / 2)]!;
  };
  try {
    const at = async (holdMs: number) => {
      proxy.delayMs = holdMs;
      await medianOf(10, task); // settle: connections' queues drain, timers line up
      return { request: await medianOf(count, task), ping: await medianOf(50, () => ping.ping()) };
    };
    const fast = await at(0);
    const slow = await at(HOLD_MS);
    return (slow.request - fast.request) / (slow.ping - fast.ping);
  } finally {
    proxy.delayMs = 0;
    ping.disconnect();
  }
}

import { Redis } from 'ioredis';

/** Calls per command name, from INFO commandstats (every client of the server). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

/**
 * Redis commands per request: `task` run `count` times one after another,
 * minus what the gateway does meanwhile on its own (probes, loops), measured
 * over as long a quiet spell just before. Scripts count as one command each
 * (EVALSHA), as Redis counts them.
 */
export async function commandsPerRequest(redisUrl: string, count: number, task: () => Promise<void>): Promise<{ total: number; top: Array<[string, number]> }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    const idleStart = await commandCalls(redis);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await task();
    const busyMs = performance.now() - t0;
    const busyEnd = await commandCalls(redis);
    await new Promise((resolve) => setTimeout(resolve, busyMs));
    const idleEnd = await commandCalls(redis);
    const per = new Map<string, number>();
    for (const [name, end] of busyEnd) {
      const busy = end - (idleStart.get(name) ?? 0);
      const idle = (idleEnd.get(name) ?? 0) - end;
      const own = name === 'info' ? 0 : (busy - idle) / count;
      if (own > 0.05) per.set(name, own);
    }
    const top = [...per.entries()].sort((a, b) => b[1] - a[1]);
    return { total: top.reduce((n, [, v]) => n + v, 0), top };
  } finally {
    redis.disconnect();
  }
}

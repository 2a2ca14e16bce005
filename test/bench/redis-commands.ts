import { once } from 'node:events';
import { type Socket, createConnection } from 'node:net';

/** What one request cost Redis: commands clients sent (each a round trip, a script one) and commands run inside scripts. */
export interface CommandCost {
  /** Commands sent by clients per request: EVALSHA counts once, MULTI/EXEC and pipelines count each command. */
  sent: number;
  /** Commands Redis ran per request in all, those inside scripts (BullMQ's and ours) included. */
  executed: number;
  /** The most frequent commands in all, per request, with where they ran. */
  top: Array<{ name: string; perRequest: number; inScripts: boolean }>;
}

/**
 * Counts, by command and origin, of what every client made Redis do while
 * it was watched: MONITOR read off a plain socket (each line is
 * `+<time> [<db> <client address or "lua">] "<command>" ...`).
 */
class CommandTally {
  private readonly counts = new Map<string, number>();
  private buffered = '';
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const lines = (this.buffered + chunk).split('\r\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) this.count(line);
    });
  }

  private count(line: string): void {
    const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
    if (!match) return;
    const key = `${match[1] === 'lua' ? 'lua' : 'client'}\t${match[2]!.toLowerCase()}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  static async start(redisUrl: string): Promise<CommandTally> {
    const url = new URL(redisUrl);
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    await once(socket, 'connect');
    const tally = new CommandTally(socket);
    socket.write('MONITOR\r\n');
    return tally;
  }

  snapshot(): Map<string, number> {
    return new Map(this.counts);
  }

  stop(): void {
    this.socket.destroy();
  }
}

/**
 * What `task` costs Redis, run `count` times one after another (MONITOR
 * sees every command, in scripts too), minus what the system does meanwhile
 * on its own (probes, loops), measured over as long a quiet spell after.
 */
export async function commandsPerRequest(redisUrl: string, count: number, task: () => Promise<void>): Promise<CommandCost> {
  const tally = await CommandTally.start(redisUrl);
  try {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await task();
    const busyMs = performance.now() - t0;
    const busy = tally.snapshot();
    await new Promise((resolve) => setTimeout(resolve, busyMs));
    const all = tally.snapshot();
    const per = new Map<string, number>();
    for (const [key, n] of all) {
      const inBusy = busy.get(key) ?? 0;
      const inIdle = n - inBusy;
      const own = (inBusy - inIdle) / count;
      if (own > 0.02) per.set(key, own);
    }
    const sum = (origin?: string) => [...per].filter(([k]) => !origin || k.startsWith(origin)).reduce((t, [, v]) => t + v, 0);
    const top = [...per.entries()].sort((a, b) => b[1] - a[1]).map(([key, perRequest]) => ({ name: key.split('\t')[1]!, perRequest, inScripts: key.startsWith('lua') }));
    return { sent: sum('client'), executed: sum(), top };
  } finally {
    tally.stop();
  }
}

import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Linux's clock tick (`getconf CLK_TCK`): 100 on every kernel we run on. */
const TICKS_PER_S = 100;

/**
 * The CPU a process has used so far (user + system, ms), from /proc; undefined
 * where there is no /proc (the benches then print no CPU figures).
 */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the Redis server behind `redisUrl` (its INFO says), for cpuMs;
 * undefined unless that pid is a Redis server on this machine (a REDIS_URL
 * elsewhere names a pid of another machine, which here may be anything).
 */
export async function redisPid(redisUrl: string): Promise<number | undefined> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis') ? pid : undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** CPU used by each of `pids` while `run` ran, per unit of work (ms), in order; undefined entries where /proc is missing. */
export async function cpuPer<T>(pids: ReadonlyArray<number | undefined>, units: number, run: () => Promise<T>): Promise<{ result: T; perUnit: Array<number | undefined> }> {
  const before = pids.map(cpuMs);
  const result = await run();
  const perUnit = pids.map((pid, i) => {
    const [a, b] = [before[i], cpuMs(pid)];
    return a === undefined || b === undefined ? undefined : (b - a) / units;
  });
  return { result, perUnit };
}

/** A rate goal turned into CPU: what a request may cost the gateway's process and Redis together if the rate is to be reached here. */
export interface CpuBudget {
  goal: string;
  /** Requests per second the goal asks for, in this run. */
  rate: number;
  /** All the CPU per request the machine's cores allow at that rate, ms. */
  total: number;
  /** The bench process's share of it (clients, emulator), as measured on Mana's path: not the gateway's to cut. */
  benchShare: number;
  /** What is left for the gateway's process and Redis. */
  gatewayAndRedis: number;
}

/**
 * Every process of a bench shares this machine's cores, so a rate is reached only if the
 * CPU all of them spend per request fits: cores ÷ rate. The gateway's process and Redis
 * get what the bench process (which sends the requests and plays the GPU) leaves.
 */
export function cpuBudget(goal: string, rate: number, cores: number, benchShare: number): CpuBudget {
  const total = (cores * 1000) / rate;
  return { goal, rate, total, benchShare, gatewayAndRedis: total - benchShare };
}

import type { Queue } from 'bullmq';
import { BULLMQ_PRIORITY, PRIORITY_CLASS_WIDTH, type Priority } from './payloads.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/**
 * Fair share between tenants within a priority class, by start-time fair
 * queuing on BullMQ's own priorities, so it holds across every worker
 * process with no scheduler of its own. Each (queue, class) keeps a virtual
 * clock per tenant: a tenant's next hop is tagged max(now, its clock) and
 * its clock moves on 1/weight per hop. "Now" is the tag of the first hop of
 * the class still waiting, so a tenant that was idle starts at the front of
 * the line, not behind what it would have used (work conserving: the others
 * take its share while it has nothing waiting). A hop's BullMQ priority is
 * its class's base plus its tag in whole rounds; BullMQ serves the lowest
 * priority first and, within one, in arrival order, so in each round a
 * tenant of weight 3 starts three hops to a weight-1 tenant's one.
 *
 * With nothing of the class waiting, "now" is the furthest clock: every tag
 * given so far has started, so the next tenant starts level with the rest
 * (and the chunks of one batch added side by side still follow each other).
 * Tags stay small: once "now" passes half the class's width, every waiting
 * hop of the class and every clock move down together (one pass, rarely:
 * every ~260k rounds).
 */
const TAGS = `
local UNIT = 4294967296
local base, width = tonumber(ARGV[1]), tonumber(ARGV[2])
local lo, hi = base * UNIT, '(' .. ((base + width) * UNIT)
local head = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'WITHSCORES', 'LIMIT', 0, 1)
local clocks = redis.call('HGETALL', KEYS[1])
local now = 0
if #head == 0 then
  -- Everything tagged so far has started (or is being added right now, by a chunk of the same
  -- batch): now is past every tag given, so whoever comes next starts level.
  for i = 2, #clocks, 2 do now = math.max(now, tonumber(clocks[i])) end
else
  now = math.floor(tonumber(head[2]) / UNIT) - base
end
if now >= tonumber(ARGV[6]) then
  local shift = math.floor(now)
  if #head > 0 then
    local waiting = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'WITHSCORES')
    for i = 1, #waiting, 2 do
      local score = tonumber(waiting[i + 1]) - shift * UNIT
      redis.call('ZADD', KEYS[2], score, waiting[i])
      -- BullMQ reads a job's priority from its hash when it requeues it (a delayed or stalled hop).
      redis.call('HSET', ARGV[7] .. waiting[i], 'priority', math.floor(score / UNIT))
    end
  end
  for i = 1, #clocks, 2 do
    redis.call('HSET', KEYS[1], clocks[i], tostring(math.max(0, tonumber(clocks[i + 1]) - shift)))
  end
  now = now - shift
end
local start = math.max(now, tonumber(redis.call('HGET', KEYS[1], ARGV[3]) or '0'))
local clock = tostring(start + tonumber(ARGV[5]) / tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], ARGV[3], clock)
redis.call('PEXPIRE', KEYS[1], 604800000)
return {tostring(start), clock}
`;

/**
 * Gives back tags taken for hops that then went elsewhere: the tenant's
 * clock moves back by what they took, never behind where they started.
 * Hops of the tenant tagged meanwhile keep their places (the share is off
 * by these hops only, not for the tenant's hops to come). A clock moved
 * down by a rebase since is left alone.
 */
const RELEASE = `
local clock = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if clock < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], tostring(math.max(tonumber(ARGV[3]), clock - tonumber(ARGV[4]) / tonumber(ARGV[5]))))
return 1
`;

/** Tags taken for hops not yet added to their queue. */
export interface FairTags {
  /** Each hop's BullMQ priority, in order. */
  priorities: number[];
  /** Gives the tags back, for hops that will not be added after all. */
  release(): Promise<void>;
}

/** The tenant field for jobs without one (no client keys configured). */
const NO_TENANT = '-';
/** Float steps of 1/weight must not fall just short of a whole round. */
const EPSILON = 1e-9;

type Script<T> = (...args: Array<string | number>) => Promise<T>;

export class FairShare {
  private readonly tags: Script<[string, string]>;
  private readonly release: Script<number>;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly weightOf: (tenant: string) => number,
    /** Tags at or past this many rounds are moved down (a parameter so a test can reach it). */
    private readonly rebaseAt = PRIORITY_CLASS_WIDTH / 2,
  ) {
    redis.defineCommand('manaFairTags', { numberOfKeys: 2, lua: TAGS });
    redis.defineCommand('manaFairRelease', { numberOfKeys: 1, lua: RELEASE });
    const scripts = redis as unknown as Record<string, Script<never> | undefined>;
    if (!scripts.manaFairTags || !scripts.manaFairRelease) throw new Error('could not define the fair-share scripts');
    this.tags = scripts.manaFairTags.bind(redis);
    this.release = scripts.manaFairRelease.bind(redis);
  }

  /**
   * BullMQ priorities for `count` hops of one tenant going into `queue` at
   * this class, in their order. `given` is the weight the hops carry (from
   * the keys file), which wins over the configured one.
   */
  async priorities(queue: Queue, priority: Priority, tenant: string | undefined, count: number, given?: number): Promise<number[]> {
    return (await this.take(queue, priority, tenant, count, given)).priorities;
  }

  /** The same tags, taken before it is certain the hops go into `queue`: given back if they do not. */
  async take(queue: Queue, priority: Priority, tenant: string | undefined, count: number, given?: number): Promise<FairTags> {
    const base = BULLMQ_PRIORITY[priority];
    const who = tenant || NO_TENANT;
    const weight = given ?? (tenant ? this.weightOf(tenant) : 1);
    const prioritized = queue.keys.prioritized ?? queue.toKey('prioritized');
    const clocks = this.keys.fairClocks(queue.name, priority);
    const [start, clock] = await this.tags(clocks, prioritized, base, PRIORITY_CLASS_WIDTH, who, weight, count, this.rebaseAt, queue.toKey(''));
    const first = Number(start);
    return {
      priorities: Array.from({ length: count }, (_, i) => base + Math.min(PRIORITY_CLASS_WIDTH - 1, Math.floor(first + i / weight + EPSILON))),
      release: async () => void (await this.release(clocks, who, clock, start, count, weight)),
    };
  }
}

/**
 * The tags of hops whose tenant is the only one: none. Its clock would give them ever-rising
 * priorities, which BullMQ serves in arrival order, as it serves one priority: the same order,
 * without a script per hop or clocks in Redis. (A tenant that later meets others starts level
 * with them: its clock has not moved, and "now" is its first waiting hop's tag, the class's base.)
 */
export function soleTenantTags(priority: Priority, count: number): FairTags {
  return { priorities: new Array<number>(count).fill(BULLMQ_PRIORITY[priority]), release: () => Promise.resolve() };
}

/** The class a BullMQ priority belongs to (0, BullMQ's plain wait list, is where a stalled hop goes back: first in line). */
export function priorityClassOf(bullmqPriority: number): Priority | 'requeued' {
  if (bullmqPriority < BULLMQ_PRIORITY.interactive) return 'requeued';
  if (bullmqPriority < BULLMQ_PRIORITY.async) return 'interactive';
  return bullmqPriority < BULLMQ_PRIORITY.batch ? 'async' : 'batch';
}

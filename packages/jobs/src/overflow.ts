import { type Fleet, hasLoaded, holdersOf } from './fleet.js';
import { BULLMQ_PRIORITY, PRIORITIES, PRIORITY_CLASS_WIDTH, PRIORITY_SCORE_UNIT, type Priority } from './payloads.js';
import type { LocalBacklog, Pipeline } from './pipeline.js';
import type { RedisClient } from './redis.js';
import { readTimes } from './service-time.js';

/** Until a worker has measured a model's service time, assume a short generation. */
export const ASSUMED_SERVICE_MS = 1_000;
/** Until a load has been measured or configured, assume loading a model takes this long. */
export const ASSUMED_LOAD_MS = 3_000;

/** What a wait estimate for one local model reads. */
export interface WaitInputs {
  fleet: Fleet;
  backlog: LocalBacklog;
  serviceMs: number | undefined;
  loadMs: number | undefined;
}

/**
 * How long a new job for local `model` at this priority would wait to start:
 * the work ahead of it in its model's queue beyond the free slots of the
 * usable servers that have the model, in rounds of those servers' capacity,
 * each round one service time of this model; plus a load when no such server
 * holds the model in memory. Pure, so the policy is tested without Redis.
 */
export function estimateWaitMs(model: string, priority: Priority, inputs: WaitInputs): number {
  const holders = holdersOf(inputs.fleet, model);
  const capacity = holders.reduce((sum, g) => sum + g.slots, 0);
  if (capacity === 0) return Number.POSITIVE_INFINITY;
  const mine = BULLMQ_PRIORITY[priority];
  const ahead = Object.entries(inputs.backlog.waitingByPriority)
    .filter(([level]) => Number(level) <= mine)
    .reduce((sum, [, n]) => sum + n, 0);
  // Slots taken by this model's running hops, or by other models' on the same servers, whichever is more.
  const busy = Math.max(
    inputs.backlog.active,
    holders.reduce((sum, g) => sum + Math.min(g.busy, g.slots), 0),
  );
  const free = Math.max(0, capacity - busy);
  const load = holders.some((g) => hasLoaded(g, model)) ? 0 : (inputs.loadMs ?? ASSUMED_LOAD_MS);
  if (ahead < free) return load;
  return load + Math.ceil((ahead - free + 1) / capacity) * (inputs.serviceMs ?? ASSUMED_SERVICE_MS);
}

/**
 * The wait estimate dispatch uses. The backlog and measured times may be a
 * little stale (up to 4× their cache's age, while a fresh value is read in
 * the background), so no request waits a round trip for them: a wrong guess
 * is corrected by the spill loop (a hop that waits past its tolerance
 * moves on), at worst one spill too early. Only the fleet (is a GPU up?) is
 * always fresh: a stale "down" would send the GPUs' work to the cloud.
 */
export async function estimateLocalWaitMs(p: Pipeline, model: string, priority: Priority): Promise<number> {
  const [fleet, backlog, times] = await Promise.all([p.cache.fleet.get(), p.cache.backlog(model).getStale(), p.cache.times.getStale()]);
  return estimateWaitMs(model, priority, { fleet, backlog, serviceMs: times.service[model], loadMs: times.load[model] ?? configuredLoadMs(fleet, model) });
}

function configuredLoadMs(fleet: Fleet, model: string): number | undefined {
  const configured = holdersOf(fleet, model)
    .map((g) => g.loadMs)
    .filter((ms): ms is number => ms !== undefined);
  return configured.length > 0 ? Math.min(...configured) : undefined;
}

/**
 * A local queue's backlog in one script (all its keys share the queue's
 * slot): LLEN of the plain wait list (0: where the stall check puts a hop
 * back) and of the active list, ZCARD of the delayed set, then one ZCOUNT of
 * the prioritized set per range given in ARGV. Read every ~25 ms while
 * requests come; it was six commands, now one.
 */
const BACKLOG = `
local counts = { redis.call('LLEN', KEYS[1]), redis.call('LLEN', KEYS[2]), redis.call('ZCARD', KEYS[3]) }
for i = 1, #ARGV, 2 do counts[#counts + 1] = redis.call('ZCOUNT', KEYS[4], ARGV[i], ARGV[i + 1]) end
return counts`;

type BacklogScript = (wait: string, active: string, delayed: string, prioritized: string, ...ranges: string[]) => Promise<number[]>;
const backlogScripts = new WeakMap<object, BacklogScript>();

function backlogScript(redis: RedisClient): BacklogScript {
  let script = backlogScripts.get(redis);
  if (!script) {
    redis.defineCommand('manaLocalBacklog', { numberOfKeys: 4, lua: BACKLOG });
    script = (redis as unknown as { manaLocalBacklog: BacklogScript }).manaLocalBacklog.bind(redis);
    backlogScripts.set(redis, script);
  }
  return script;
}

export async function loadLocalBacklog(p: Pick<Pipeline, 'queues' | 'redis'>, model: string): Promise<LocalBacklog> {
  const queue = p.queues.local(model);
  const key = (type: string) => (queue.keys as Record<string, string | undefined>)[type] ?? queue.toKey(type);
  // Each class is a range of priorities (its tenants' fair-share tags), counted whole, keyed by the
  // class's first priority.
  const bases = PRIORITIES.map((priority) => BULLMQ_PRIORITY[priority]);
  const ranges = bases.flatMap((base) => [String(base * PRIORITY_SCORE_UNIT), `(${(base + PRIORITY_CLASS_WIDTH) * PRIORITY_SCORE_UNIT}`]);
  const [requeued = 0, active = 0, delayed = 0, ...classes] = await backlogScript(p.redis)(key('wait'), key('active'), key('delayed'), key('prioritized'), ...ranges);
  const waitingByPriority: Record<number, number> = { 0: requeued };
  bases.forEach((base, i) => (waitingByPriority[base] = classes[i] ?? 0));
  return { waitingByPriority, active, delayed };
}

export async function loadTimes(p: Pick<Pipeline, 'redis' | 'keys'>): Promise<{ service: Record<string, number>; load: Record<string, number> }> {
  const [service, load] = await Promise.all([readTimes(p.redis, p.keys.serviceTimes()), readTimes(p.redis, p.keys.loadTimes())]);
  return { service, load };
}

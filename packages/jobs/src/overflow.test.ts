import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { deletePrefix, testPrefix, testRedis, testRedisTarget } from '@mana/testing';
import type { Fleet, GpuState } from './fleet.js';
import { Keys } from './keys.js';
import { ASSUMED_LOAD_MS, estimateWaitMs, loadLocalBacklog } from './overflow.js';
import { Queues } from './queues.js';
import { type RedisClient, createRedis } from './redis.js';
import { BULLMQ_PRIORITY } from './payloads.js';

const gpu = (name: string, over: Partial<GpuState> = {}): GpuState => ({
  name,
  slots: 2,
  engine: 'ollama',
  usable: true,
  models: ['gemma3:4b', 'nomic-embed-text'],
  loaded: ['gemma3:4b'],
  busy: 0,
  ...over,
});
const fleet = (...gpus: GpuState[]): Fleet => ({ gpus });
const backlog = (waiting: number, active = 0, priority = BULLMQ_PRIORITY.async) => ({ waitingByPriority: { [priority]: waiting }, active, delayed: 0 });

describe('estimateWaitMs: the wait of a new local job, per model', () => {
  it.each([
    ['free slots on a server holding the model: no wait', fleet(gpu('a')), backlog(1), 200, 0],
    ['work ahead beyond the free slots: rounds of its own service time', fleet(gpu('a', { busy: 2 })), backlog(3, 2), 200, 400],
    ['an embedding’s 30 ms is not a chat answer’s seconds', fleet(gpu('a', { busy: 2 })), backlog(3, 2), 30, 60],
    ['counts only servers that have the model', fleet(gpu('a', { busy: 2 }), gpu('b', { models: ['qwen3:8b'] })), backlog(3, 2), 200, 400],
    ['a server with the model adds its slots', fleet(gpu('a', { busy: 2 }), gpu('b', { slots: 4 })), backlog(3, 2), 200, 0],
    ['no server holds it in memory: plus a load', fleet(gpu('a', { loaded: [] })), backlog(0), 200, ASSUMED_LOAD_MS],
    ['other models running on the same server take its slots', fleet(gpu('a', { busy: 2 })), backlog(0, 0), 200, 200],
    ['no usable server has the model: it would wait forever', fleet(gpu('a', { usable: false })), backlog(0), 200, Number.POSITIVE_INFINITY],
  ])('%s', (_name, f, b, serviceMs, expected) => {
    expect(estimateWaitMs('gemma3:4b', 'async', { fleet: f, backlog: b, serviceMs, loadMs: undefined })).toBe(expected);
  });

  it('work of a lower priority is not ahead of an interactive job', () => {
    const busy = fleet(gpu('a', { busy: 2 }));
    expect(estimateWaitMs('gemma3:4b', 'interactive', { fleet: busy, backlog: backlog(10, 2, BULLMQ_PRIORITY.batch), serviceMs: 100, loadMs: undefined })).toBe(100);
    expect(estimateWaitMs('gemma3:4b', 'batch', { fleet: busy, backlog: backlog(10, 2, BULLMQ_PRIORITY.batch), serviceMs: 100, loadMs: undefined })).toBe(600);
  });
});

describe('loadLocalBacklog', () => {
  let redis: RedisClient | undefined;
  let queues: Queues | undefined;
  let prefix = '';
  afterEach(async () => {
    await queues?.close();
    redis?.disconnect();
    await deletePrefix(prefix);
  });

  it("counts a real queue's waiting hops by class, the plain wait list, the running and the delayed, in one script", async () => {
    prefix = testPrefix();
    redis = testRedis();
    queues = new Queues(redis, new Keys(prefix));
    const queue = queues.local('gemma3:4b');
    await queue.add('chat', {}, { jobId: 'plain-1' });
    await queue.add('chat', {}, { jobId: 'plain-2' });
    await queue.add('chat', {}, { jobId: 'now-1', priority: BULLMQ_PRIORITY.interactive });
    await queue.add('chat', {}, { jobId: 'now-2', priority: BULLMQ_PRIORITY.interactive + 3 });
    // A tenant's fair-share tag places a hop further down its class.
    await queue.add('chat', {}, { jobId: 'bulk-1', priority: BULLMQ_PRIORITY.batch + 1000 });
    await queue.add('chat', {}, { jobId: 'later-1', delay: 60_000 });
    const connection = createRedis(testRedisTarget(), { blocking: true });
    const worker = new Worker(queue.name, null, { connection, prefix: queue.opts.prefix });
    try {
      // BullMQ hands out the plain wait list first.
      expect((await worker.getNextJob('token'))?.id).toBe('plain-1');
      const commands = await commandsRun(redis, () => loadLocalBacklog({ queues: queues!, redis: redis! }, 'gemma3:4b'));
      expect(commands.result).toEqual({
        waitingByPriority: { 0: 1, [BULLMQ_PRIORITY.interactive]: 2, [BULLMQ_PRIORITY.async]: 0, [BULLMQ_PRIORITY.batch]: 1 },
        active: 1,
        delayed: 1,
      });
      expect(commands.sent).toBe(1);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });
});

/** What `fn` returns, and how many commands this connection sent meanwhile (it sends nothing else). */
async function commandsRun<T>(redis: RedisClient, fn: () => Promise<T>): Promise<{ result: T; sent: number }> {
  let sent = 0;
  const original = redis.sendCommand;
  const send = original as (...args: unknown[]) => unknown;
  redis.sendCommand = ((...args: unknown[]) => {
    sent++;
    return send.apply(redis, args);
  }) as typeof redis.sendCommand;
  try {
    return { result: await fn(), sent };
  } finally {
    redis.sendCommand = original;
  }
}

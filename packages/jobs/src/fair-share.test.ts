import { Queue } from 'bullmq';
import { afterEach, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { FairShare, priorityClassOf } from './fair-share.js';
import { Keys } from './keys.js';
import { BULLMQ_PRIORITY } from './payloads.js';
import type { RedisClient } from './redis.js';

let redis: RedisClient | undefined;
let queue: Queue | undefined;
let prefix = '';
afterEach(async () => {
  await queue?.close();
  redis?.disconnect();
  await deletePrefix(prefix);
});

function setUp(weights: Record<string, number> = {}, rebaseAt?: number) {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  redis = testRedis();
  queue = new Queue(keys.localQueueName('m'), { connection: testRedis('bullmq'), prefix });
  return new FairShare(redis, keys, (t) => weights[t] ?? 1, rebaseAt);
}

/** Adds hops at the given priorities, then the tenant of each waiting hop in the order BullMQ will start them. */
async function order(q: Queue, adds: Array<{ tenant: string; priorities: number[] }>): Promise<string[]> {
  for (const { tenant, priorities } of adds)
    await q.addBulk(priorities.map((priority, i) => ({ name: tenant, data: {}, opts: { priority, jobId: `${tenant}-${priority}-${i}-${Math.random()}` } })));
  return (await q.getPrioritized(0, -1)).map((j) => j.name);
}

it('interleaves a tenant that arrives late with the one already waiting, one start each per round', async () => {
  const fair = setUp();
  const a = await fair.priorities(queue!, 'batch', 'a', 6);
  expect(a).toEqual([0, 1, 2, 3, 4, 5].map((r) => BULLMQ_PRIORITY.batch + r));
  await order(queue!, [{ tenant: 'a', priorities: a }]);
  const b = await fair.priorities(queue!, 'batch', 'b', 3);
  expect(await order(queue!, [{ tenant: 'b', priorities: b }])).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'a', 'a']);
});

it('gives a weight-3 tenant three starts to a weight-1 tenant’s one, and keeps interactive ahead of batch', async () => {
  const fair = setUp({ heavy: 3 });
  const light = await fair.priorities(queue!, 'batch', 'light', 4);
  await order(queue!, [{ tenant: 'light', priorities: light }]);
  const heavy = await fair.priorities(queue!, 'batch', 'heavy', 12);
  await order(queue!, [{ tenant: 'heavy', priorities: heavy }]);
  const urgent = await fair.priorities(queue!, 'interactive', 'light', 1);
  const started = await order(queue!, [{ tenant: 'urgent', priorities: urgent }]);
  expect(started[0]).toBe('urgent');
  expect(started.slice(1, 9).filter((t) => t === 'heavy')).toHaveLength(6);
  expect(priorityClassOf(urgent[0]!)).toBe('interactive');
  expect(priorityClassOf(heavy[0]!)).toBe('batch');
  expect(priorityClassOf(0)).toBe('requeued');
});

it('starts a tenant that was idle level with the line, neither ahead of it nor behind what it used before', async () => {
  const fair = setUp();
  // a has 20 waiting, of which 10 have started: b, new, goes level with a's next, not ahead of a's whole line.
  await order(queue!, [{ tenant: 'a', priorities: await fair.priorities(queue!, 'batch', 'a', 20) }]);
  await Promise.all((await queue!.getPrioritized(0, 9)).map((j) => queue!.remove(j.id!)));
  expect(await fair.priorities(queue!, 'batch', 'b', 1)).toEqual([BULLMQ_PRIORITY.batch + 10]);
  // Nothing waiting at all: whoever comes next starts where the furthest clock is, level with the rest.
  await Promise.all((await queue!.getPrioritized(0, -1)).map((j) => queue!.remove(j.id!)));
  const c = await fair.priorities(queue!, 'batch', 'c', 1);
  expect(c).toEqual([BULLMQ_PRIORITY.batch + 20]);
  await order(queue!, [{ tenant: 'c', priorities: c }]);
  expect(await fair.priorities(queue!, 'batch', 'a', 1)).toEqual([BULLMQ_PRIORITY.batch + 20]);
});

it('tags chunks of one batch tagged side by side (before either is added) one after the other, not both from the front', async () => {
  const fair = setUp();
  const [first, second] = await Promise.all([fair.priorities(queue!, 'batch', 'a', 5), fair.priorities(queue!, 'batch', 'a', 5)]);
  expect([...first!, ...second!].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => BULLMQ_PRIORITY.batch + i));
});

it('moves every waiting hop and clock down together once the first waiting tag passes the rebase point, keeping their order', async () => {
  const fair = setUp({}, 8);
  // a's hops 0..19 wait; the first 10 start, so the head's tag is 10, past the rebase point 8.
  await order(queue!, [{ tenant: 'a', priorities: await fair.priorities(queue!, 'batch', 'a', 20) }]);
  const head = (await queue!.getPrioritized(0, 9)).map((j) => j.id!);
  await Promise.all(head.map((id) => queue!.remove(id)));
  const b = await fair.priorities(queue!, 'batch', 'b', 2);
  expect(b).toEqual([BULLMQ_PRIORITY.batch, BULLMQ_PRIORITY.batch + 1]);
  const waiting = await queue!.getPrioritized(0, -1);
  expect(waiting[0]!.priority).toBe(BULLMQ_PRIORITY.batch);
  expect(await order(queue!, [{ tenant: 'b', priorities: b }])).toEqual(['a', 'b', 'a', 'b', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a']);
  // a's clock moved down too: its next hop goes after its last waiting one (tag 9), not at 20.
  expect(await fair.priorities(queue!, 'batch', 'a', 1)).toEqual([BULLMQ_PRIORITY.batch + 10]);
});

it('gives back a tag for a hop that went elsewhere: the tenant’s clock moves back by it, even past hops tagged meanwhile', async () => {
  const fair = setUp();
  await order(queue!, [{ tenant: 'a', priorities: await fair.priorities(queue!, 'interactive', 'a', 3) }]);
  const spilled = await fair.take(queue!, 'interactive', 'b', 1);
  expect(spilled.priorities).toEqual([BULLMQ_PRIORITY.interactive]);
  await spilled.release();
  // b's clock is back: its next hop goes level with a's first, not one round behind.
  const next = await fair.take(queue!, 'interactive', 'b', 1);
  expect(next.priorities).toEqual([BULLMQ_PRIORITY.interactive]);
  // b tags again before `next` is given back: that hop keeps its place, and b's clock still moves back one.
  const later = await fair.take(queue!, 'interactive', 'b', 1);
  await next.release();
  expect(later.priorities).toEqual([BULLMQ_PRIORITY.interactive + 1]);
  expect((await fair.take(queue!, 'interactive', 'b', 1)).priorities).toEqual([BULLMQ_PRIORITY.interactive + 1]);
});

it('does not move back a clock that a rebase moved down after the tag was taken', async () => {
  const fair = setUp({}, 8);
  // b has 15 hops waiting (tags 0..14); the tag taken next starts at 15.
  await order(queue!, [{ tenant: 'b', priorities: await fair.priorities(queue!, 'batch', 'b', 15) }]);
  const taken = await fair.take(queue!, 'batch', 'b', 1);
  expect(taken.priorities).toEqual([BULLMQ_PRIORITY.batch + 15]);
  // 10 of b's start: the next tag finds the head at 10, past the rebase point, and moves every clock down 10.
  await Promise.all((await queue!.getPrioritized(0, 9)).map((j) => queue!.remove(j.id!)));
  expect(await fair.priorities(queue!, 'batch', 'c', 1)).toEqual([BULLMQ_PRIORITY.batch]);
  await taken.release();
  // b's clock (16, now 6) stays where the rebase put it; moved back to "where the tag started" it would be 15.
  expect(await fair.priorities(queue!, 'batch', 'b', 1)).toEqual([BULLMQ_PRIORITY.batch + 6]);
});

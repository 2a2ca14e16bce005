import { expect, it } from 'vitest';
import { SnapshotCache } from './snapshot-cache.js';

it('answers a stale value at once while it reads a fresh one, and waits only past the stale limit', async () => {
  let loads = 0;
  const cache = new SnapshotCache(10, async () => ++loads, 100);
  expect(await cache.get(0)).toBe(1);
  expect(await cache.get(4)).toBe(1); // fresh: no read
  expect(loads).toBe(1);
  expect(await cache.getStale(20)).toBe(1); // stale: answered as it is, a fresh one is read meanwhile
  await expect.poll(() => loads).toBe(2);
  await expect.poll(() => cache.getStale(24)).toBe(2);
  expect(await cache.getStale(500)).toBe(3); // too old to answer: waited for
  expect(await cache.get(515)).toBe(4); // get never answers stale
});

it('reads ahead once a value is past half its time: answered at once, and the next caller finds a fresh one', async () => {
  let loads = 0;
  const cache = new SnapshotCache(10, async () => ++loads);
  expect(await cache.get(0)).toBe(1);
  expect(await cache.get(4)).toBe(1);
  expect(loads).toBe(1);
  expect(await cache.get(6)).toBe(1); // past half: answered as it is, read again meanwhile
  await expect.poll(() => loads).toBe(2);
  expect(await cache.get(7)).toBe(2);
  expect(await cache.get(10)).toBe(2); // read from 6: the next read ahead is due at 11
  expect(loads).toBe(2);
  expect(await cache.get(12)).toBe(2);
  await expect.poll(() => loads).toBe(3);
  expect(await cache.get(30)).toBe(4); // past its time: waited for, as before
});

it('without a stale limit, reads again once the value is past its time', async () => {
  let loads = 0;
  const cache = new SnapshotCache(10, async () => ++loads);
  expect(await cache.get(0)).toBe(1);
  expect(await cache.get(11)).toBe(2);
});

it('a refresh begun before a clear does not bring back the value read before it', async () => {
  let loads = 0;
  let release: (() => void) | undefined;
  const cache = new SnapshotCache(
    10,
    () =>
      new Promise<number>((resolve) => {
        const n = ++loads;
        if (n === 2) release = () => resolve(n);
        else resolve(n);
      }),
    100,
  );
  expect(await cache.get(0)).toBe(1);
  expect(await cache.getStale(20)).toBe(1); // starts refresh #2, held back
  cache.clear(); // e.g. this process learnt that a GPU went down
  expect(await cache.getStale(21)).toBe(3);
  release!();
  await new Promise((resolve) => setImmediate(resolve));
  expect(await cache.getStale(22)).toBe(3);
});

import { afterAll, afterEach, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { BatchLedger } from './batches.js';
import { Keys } from './keys.js';
import { JobRecords } from './record.js';

let prefix = '';
const redis = testRedis();
afterEach(async () => {
  await deletePrefix(prefix);
});
afterAll(() => redis.disconnect());

it('lists and counts an item once when two readers of a batch report it (a reader taken over while it still wrote its last chunk)', async () => {
  prefix = testPrefix();
  const keys = new Keys(prefix);
  const records = new JobRecords(redis, keys, 60);
  const ledger = new BatchLedger(redis, keys, 60, () => records);
  await ledger.addItems('b1', ['b1_l1', 'b1_l2', 'b1_l3']);
  await ledger.addItems('b1', ['b1_l2', 'b1_l3', 'b1_l4']);
  expect(await ledger.itemJobs('b1')).toEqual(['b1_l1', 'b1_l2', 'b1_l3', 'b1_l4']);
  expect(await redis.hget(keys.batch('b1'), 'total')).toBe('4');
});

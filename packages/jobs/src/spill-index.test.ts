import { afterEach, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { SpillIndexWrites, spillMember } from './spill-index.js';

let redis: RedisClient | undefined;
let prefix = '';
const writers: SpillIndexWrites[] = [];
afterEach(async () => {
  for (const writer of writers.splice(0)) writer.close();
  redis?.disconnect();
  await deletePrefix(prefix);
});

/** A real connection, counting the index writes that reach it; `failAdds` ZADDs are refused first. */
function counted(failAdds = 0) {
  prefix = testPrefix();
  redis = testRedis();
  const real = redis;
  const sent = { zadd: 0, zrem: 0 };
  const client = {
    zadd: (key: string, ...args: Array<string | number>) => {
      sent.zadd++;
      if (failAdds-- > 0) return Promise.reject(new Error('OOM command not allowed when used memory > maxmemory'));
      return real.zadd(key, ...args);
    },
    zrem: (key: string, ...members: string[]) => {
      sent.zrem++;
      return real.zrem(key, ...members);
    },
  } as Pick<RedisClient, 'zadd' | 'zrem'>;
  const key = new Keys(prefix).spillIndex();
  const writer = (on = client) => {
    const w = new SpillIndexWrites(on, key);
    writers.push(w);
    return w;
  };
  return { real, sent, key, writer, client };
}

it('writes the entries of hops queued together in one ZADD, each with its due time', async () => {
  const { real, sent, key, writer } = counted();
  const index = writer();
  index.add('gemma3:4b', 'job_a.0', 5_000);
  index.add('llama3.2:1b', 'job_b.0', 6_000);
  await index.flush();
  expect(sent.zadd).toBe(1);
  expect(await real.zrange(key, 0, -1, 'WITHSCORES')).toEqual([spillMember('gemma3:4b', 'job_a.0'), '5000', spillMember('llama3.2:1b', 'job_b.0'), '6000']);
});

it('never writes, nor removes, the entry of a hop that started in this process before it was written', async () => {
  const { real, sent, key, writer } = counted();
  const api = writer();
  // The workers of the same process (the gateway) have a pipeline, and so a writer, of their own.
  const workers = writer();
  api.add('gemma3:4b', 'job_a.0', 5_000);
  api.add('gemma3:4b', 'job_b.0', 5_000);
  workers.started('gemma3:4b', 'job_a.0');
  await Promise.all([api.flush(), workers.flush()]);
  expect(await real.zrange(key, 0, -1)).toEqual([spillMember('gemma3:4b', 'job_b.0')]);
  expect(sent).toEqual({ zadd: 1, zrem: 0 });
});

it('removes the entry of a hop that started after its entry was written, on its own', async () => {
  const { real, sent, key, writer } = counted();
  const index = writer();
  index.add('gemma3:4b', 'job_a.0', 5_000);
  await index.flush();
  index.started('gemma3:4b', 'job_a.0');
  index.started('gemma3:4b', 'job_b.0');
  expect(await real.zcard(key)).toBe(1);
  // No flush: the removal goes out by itself, with the other one, in one ZREM.
  await expect.poll(() => real.zcard(key)).toBe(0);
  expect(sent).toEqual({ zadd: 1, zrem: 1 });
});

it('tries entries again when Redis refused them, and gives back none', async () => {
  const { real, key, writer } = counted(1);
  const index = writer();
  index.add('gemma3:4b', 'job_a.0', 5_000);
  await index.flush();
  expect(await real.zcard(key)).toBe(0);
  index.add('gemma3:4b', 'job_b.0', 6_000);
  await expect.poll(() => real.zcard(key)).toBe(2);
});

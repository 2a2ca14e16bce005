import { afterEach, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '@mana/testing';
import { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { JobRecords } from './record.js';

const gemma = { provider: 'ollama' as const, model: 'gemma3:4b', id: 'ollama/gemma3:4b' };
const gemini = { provider: 'google' as const, model: 'gemini-2.0-flash', id: 'google/gemini-2.0-flash' };
const answer = { result: { content: 'hi' }, usage: { promptTokens: 1, completionTokens: 1 }, model: 'gemma3:4b', provider: 'ollama' };

let redis: RedisClient | undefined;
let prefix = '';
afterEach(async () => {
  redis?.disconnect();
  await deletePrefix(prefix);
});

async function records(): Promise<JobRecords> {
  prefix = testPrefix();
  redis = testRedis();
  const made = new JobRecords(redis, new Keys(prefix), 60);
  await made.create({ id: 'job_a', kind: 'chat', priority: 'interactive', maxWaitMs: null, requested: 'x', alias: null, chain: [gemma, gemini] });
  return made;
}

const started = { at: 1_000, endpoint: 'ollama:gpu0', target: gemma.id };

it('marks a hop that was never marked running as it finishes: started, then done', async () => {
  const jobs = await records();
  expect(await jobs.succeed('job_a', 0, answer, 1_005, started)).toBe(true);
  const record = (await jobs.get('job_a'))!;
  expect(record).toMatchObject({ status: 'succeeded', startedAt: 1_000, finishedAt: 1_005, result: { content: 'hi' } });
  expect(record.hops[0]).toMatchObject({ status: 'succeeded', startedAt: 1_000, finishedAt: 1_005, endpoint: 'ollama:gpu0' });
  const stream = await redis!.xrange(new Keys(prefix).jobEvents('job_a'), '-', '+');
  expect(stream.map(([, fields]) => (JSON.parse(fields[1]!) as { type: string }).type)).toEqual(['queued', 'started', 'done']);
});

it('finishes nothing for a hop the job has moved on from, nor for a cancelled job', async () => {
  const jobs = await records();
  expect(await jobs.advanceHop('job_a', 0, { status: 'failed' }, { target: gemini, reason: 'failover' })).toBe('moved');
  expect(await jobs.succeed('job_a', 0, answer, 1_005, started)).toBe(false);
  expect(await jobs.get('job_a')).toMatchObject({ status: 'queued', hop: 1 });
  expect((await jobs.get('job_a'))!.startedAt).toBeUndefined();

  expect(await jobs.cancel('job_a')).toBe(true);
  expect(await jobs.succeed('job_a', 1, answer, 1_010, { ...started, target: gemini.id })).toBe(false);
  expect((await jobs.get('job_a'))!.status).toBe('cancelled');
});

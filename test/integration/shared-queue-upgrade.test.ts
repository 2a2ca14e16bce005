import { afterEach, expect, it } from 'vitest';
import { hopJobId } from '@mana/jobs';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

it('a GPU hop an API process of the previous version queued in the shared {ollama} queue is moved to its model’s queue and answered', async () => {
  stack = await startStack({ gpus: 1 });
  const target = { provider: 'ollama' as const, model: 'gemma3:4b', id: 'ollama/gemma3:4b' };
  const id = 'job_from_the_old_version';
  // What the previous version's API wrote: the record, and hop 0 in the one queue every GPU shared.
  await stack.pipeline.records.create({ id, kind: 'chat', priority: 'async', maxWaitMs: null, requested: 'mana/fast-text', alias: 'mana/fast-text', chain: [target] });
  const work = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'queued before the upgrade' }], params: {}, stream: false };
  await stack.pipeline.queues
    .get('ollama')
    .add('chat', { jobId: id, hop: 0, target, chain: [target], work, maxWaitMs: null, priority: 'async' }, { jobId: hopJobId(id, 0), priority: 5 });
  await expect.poll(async () => (await stack!.pipeline.records.get(id))?.status, { timeout: 15_000 }).toBe('succeeded');
  expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(1);
  expect(await stack.pipeline.queues.get('ollama').count()).toBe(0);
});

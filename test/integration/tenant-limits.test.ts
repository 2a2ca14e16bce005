import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 60 }, env: { MANA_TENANT_MAX_QUEUED: '2' } });
});
afterAll(() => stack?.close());

const submit = (text: string) =>
  fetch(`${stack.api.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'chat', priority: 'batch', request: { messages: [{ role: 'user', content: text }] } }),
  });

it("refuses a tenant's job over its limit of unfinished jobs with 429 naming the limit, and admits again once they finish", async () => {
  const first = (await (await submit('one a b c d')).json()) as { id: string };
  expect((await submit('two a b c d')).status).toBe(202);
  const third = await submit('three');
  expect(third.status).toBe(429);
  expect(((await third.json()) as { error: { message: string } }).error.message).toContain('MANA_TENANT_MAX_QUEUED');
  // Cancelling one frees a place at once; finishing frees the others.
  expect((await fetch(`${stack.api.url}/v1/jobs/${first.id}`, { method: 'DELETE' })).status).toBe(200);
  expect((await submit('four')).status).toBe(202);
  await expect.poll(async () => (await stack.jobs()).filter((j) => j.status === 'succeeded').length, { timeout: 15_000 }).toBe(2);
  // Finished jobs left the tenant's set as they finished (not only when an admission heals it).
  await expect.poll(() => stack.pipeline.redis.zcard(stack.keys.tenantLive('default'))).toBe(0);
  expect((await submit('five')).status).toBe(202);
});

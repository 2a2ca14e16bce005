import { afterEach, describe, expect, it } from 'vitest';
import { spillMember } from '@mana/jobs';
import { type Stack, startStack, testRedis } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function chat(s: Stack, text: string, headers: Record<string, string>) {
  return fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: text }] }),
  });
}

describe('priority: interactive work overtakes a draining batch', () => {
  it('runs an interactive request next on the GPU, ahead of every batch item still waiting', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 20 } });
    const client = (body: unknown) => fetch(`${stack!.baseURL}/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const rows = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ custom_id: `b${i}`, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: `batch item ${i}` }] } }),
    );
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([rows.join('\n')]), 'b.jsonl');
    const file = (await (await fetch(`${stack.baseURL}/files`, { method: 'POST', body: form })).json()) as { id: string };
    const batch = (await (await client({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).json()) as { id: string };
    const batchDone = async () => ((await (await fetch(`${stack!.baseURL}/batches/${batch.id}`)).json()) as { request_counts: { completed: number } }).request_counts.completed;
    await expect.poll(batchDone).toBeGreaterThanOrEqual(2);
    // A generous tolerance: the request must wait for the GPU, not spill.
    const answer = await chat(stack, 'urgent', { 'x-mana-max-wait-ms': '60000' });
    expect(answer.headers.get('x-mana-provider')).toBe('ollama');
    expect(await batchDone()).toBeLessThan(30);
    const jobs = await stack.jobs();
    const urgent = jobs.find((j) => j.priority === 'interactive')!;
    const items = jobs.filter((j) => j.priority === 'batch');
    // Batch items that started while the interactive request waited: at most the one slot it was waiting for.
    const overtaking = items.filter((j) => (j.startedAt ?? Infinity) > urgent.createdAt && (j.startedAt ?? Infinity) < urgent.startedAt!);
    expect(overtaking.length).toBeLessThanOrEqual(1);
    expect(items.filter((j) => j.status === 'queued').length).toBeGreaterThan(0);
  });
});

describe('overflow: saturated GPUs spill interactive work, batch work waits', () => {
  it('keeps a finished GPU hop in BullMQ (for bull-board) after its spill deadline has passed', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1 });
    const answered = await chat(stack, 'quick', { 'x-mana-max-wait-ms': '300' });
    expect(answered.headers.get('x-mana-provider')).toBe('ollama');
    const hopId = `${answered.headers.get('x-mana-job-id')}.0`;
    const deadline = Date.now() + 300;
    // Started hops leave the spill index within moments (SPILL_REMOVAL_BATCH_MS); a spill pass that finds one first leaves it be.
    await expect.poll(() => stack!.pipeline.redis.zscore(stack!.keys.spillIndex(), spillMember('gemma3:4b', hopId))).toBeNull();
    const queue = stack.pipeline.queues.local('gemma3:4b');
    await expect.poll(() => queue.getJobState(hopId)).toBe('completed');
    // Several spill passes (every 250 ms) after the deadline, the hop is still there.
    await expect.poll(() => Date.now() > deadline + 1_000, { timeout: 5_000 }).toBe(true);
    expect(await queue.getJobState(hopId)).toBe('completed');
  });

  it('sends an interactive request with a short tolerance to Gemini at dispatch, while batch jobs wait for the GPU', async () => {
    // Two tenants, so hops take fair-share places (a lone tenant's need none, see fair-share.test).
    const auth = { authorization: 'Bearer team-a-key-0123456789' };
    stack = await startStack({
      gpus: 1,
      maxConcurrent: 1,
      ollama: { perTokenMs: 60 },
      env: { MANA_API_KEYS: 'team-a:team-a-key-0123456789,team-b:team-b-key-0123456789', MANA_ADMIN_KEY: 'admin-key-0123456789' },
    });
    const batch = ['b1 x x x', 'b2 x x x', 'b3 x x x'].map((t) => chat(stack!, t, { ...auth, 'x-mana-priority': 'batch' }));
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    const interactive = await chat(stack, 'urgent', { ...auth, 'x-mana-max-wait-ms': '100' });
    expect(interactive.status).toBe(200);
    expect(interactive.headers.get('x-mana-provider')).toBe('google');
    for (const response of await Promise.all(batch)) {
      expect(response.headers.get('x-mana-provider')).toBe('ollama');
      expect(response.headers.get('x-mana-hops')).toBe('1');
    }
    const urgent = (await stack.jobs()).find((j) => j.priority === 'interactive');
    expect(urgent?.hops.map((h) => [h.target, h.reason, h.status])).toEqual([
      ['ollama/gemma3:4b', 'first', 'spilled'],
      ['google/gemini-2.0-flash', 'overflow', 'succeeded'],
    ]);
    expect((await stack.status()).fallbacks['ollama/gemma3:4b>google/gemini-2.0-flash>overflow']).toBe(1);
    // Its fair-share place in the GPU's queue, taken while dispatch decided, was given back: the
    // tenant's interactive clock there is where it started, not one hop on for work it never queued.
    const clocks = stack.keys.fairClocks(stack.keys.localQueueName('gemma3:4b'), 'interactive');
    expect(await stack.pipeline.redis.hget(clocks, 'team-a')).toBe('0');
  });

  it('moves a waiting job to its next target once it has waited past its tolerance, exactly once', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 150 } });
    // Dispatch believes the GPU is fast, so the job is queued on it; then it waits too long.
    const redis = testRedis();
    await redis.hset(stack.keys.serviceTimes(), 'gemma3:4b', '1');
    redis.disconnect();
    const first = chat(stack, 'slow one two three', { 'x-mana-priority': 'batch' });
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    const waiting = await chat(stack, 'impatient', { 'x-mana-priority': 'async', 'x-mana-max-wait-ms': '200' });
    expect(waiting.headers.get('x-mana-provider')).toBe('google');
    expect((await first).headers.get('x-mana-provider')).toBe('ollama');
    const job = (await stack.jobs()).find((j) => j.priority === 'async');
    expect(job?.hops.map((h) => [h.reason, h.status])).toEqual([
      ['first', 'spilled'],
      ['overflow', 'succeeded'],
    ]);
    // The GPU never ran the spilled job.
    const bodies = stack.gpus[0]!.stats.snapshot().recent.map((r) => JSON.stringify(r.body ?? null));
    expect(bodies.some((b) => b.includes('impatient'))).toBe(false);
  });
});

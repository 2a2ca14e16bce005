import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

// gemma3:4b answers at once; qwen3:8b takes ~600 ms, well past the moment a hop read whole is
// marked running (run-hop's MARK_DUE_MS), so both ways a hop gets its mark are driven here.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 2, ollama: { modelTimings: { 'qwen3:8b': { timeToFirstTokenMs: 600 } } } });
});
afterAll(() => stack?.close());

interface JobView {
  id: string;
  status: string;
  hops: Array<{ target: string; status: string; endpoint: string | null }>;
}

/** A sync chat (read whole, so its hop may be marked running late); answers its job id and the response to come. */
async function submit(model: string): Promise<{ id: string; response: Promise<Response> }> {
  // The job id is known once the job is queued: the record under the stack's prefix that is new.
  const known = new Set((await stack.jobs()).map((j) => j.id));
  const response = fetch(`${stack.api.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'mark me' }] }),
  });
  let id: string | undefined;
  await expect.poll(async () => (id = (await stack.jobs()).find((j) => !known.has(j.id))?.id), { timeout: 10_000, interval: 5 }).toBeDefined();
  return { id: id!, response };
}

async function get(id: string): Promise<JobView> {
  return (await (await fetch(`${stack.api.url}/v1/jobs/${id}`)).json()) as JobView;
}

/** The job's whole event stream (it has finished), as the job API replays it. */
async function events(id: string): Promise<Array<{ id: number; type: string; data: Record<string, unknown> }>> {
  const text = await (await fetch(`${stack.api.url}/v1/jobs/${id}/events`)).text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? '';
      return { id: Number(field('id')), type: field('event'), data: JSON.parse(field('data')) as Record<string, unknown> };
    });
}

describe('a hop marked running', () => {
  it('answering at once: started and done still follow queued, in order, and the hop keeps where and when it ran', async () => {
    const job = await submit('ollama/gemma3:4b');
    expect((await job.response).status).toBe(200);
    expect((await get(job.id)).status).toBe('succeeded');
    const seen = await events(job.id);
    expect(seen.map((e) => [e.id, e.type])).toEqual([
      [1, 'queued'],
      [2, 'started'],
      [3, 'done'],
    ]);
    expect(seen[1]!.data).toMatchObject({ hop: 0, target: 'ollama/gemma3:4b', endpoint: 'ollama:gpu0' });
    const record = (await stack.jobs()).find((r) => r.id === job.id)!;
    expect(record.hops[0]).toMatchObject({ status: 'succeeded', endpoint: 'ollama:gpu0' });
    expect(record.hops[0]!.startedAt).toBeGreaterThanOrEqual(record.createdAt);
    expect(record.hops[0]!.finishedAt).toBeGreaterThanOrEqual(record.hops[0]!.startedAt!);
    expect(record.startedAt).toBe(record.hops[0]!.startedAt);
  });

  it('still generating: the job shows running while it runs, then the same events once', async () => {
    const job = await submit('ollama/qwen3:8b');
    await expect.poll(async () => (await get(job.id)).status, { timeout: 10_000, interval: 20 }).toBe('running');
    expect((await get(job.id)).hops[0]).toMatchObject({ status: 'running', endpoint: 'ollama:gpu0' });
    expect((await job.response).status).toBe(200);
    expect((await get(job.id)).status).toBe('succeeded');
    expect((await events(job.id)).map((e) => e.type)).toEqual(['queued', 'started', 'done']);
  });

  it('a hop cancelled while it runs ends cancelled, with no answer recorded after', async () => {
    const job = await submit('ollama/qwen3:8b');
    await expect.poll(async () => (await get(job.id)).status, { timeout: 10_000, interval: 20 }).toBe('running');
    const cancelled = await fetch(`${stack.api.url}/v1/jobs/${job.id}`, { method: 'DELETE' });
    expect(cancelled.status).toBeLessThan(300);
    expect((await job.response).status).toBeGreaterThanOrEqual(400);
    // The cancel aborted the GPU's call: once the server has let go of it, nothing of the hop can land.
    await expect.poll(() => stack.gpus[0]!.stats.snapshot().busySlots, { timeout: 10_000 }).toBe(0);
    expect((await get(job.id)).status).toBe('cancelled');
    expect((await events(job.id)).map((e) => e.type)).toEqual(['queued', 'started', 'cancelled']);
  });
});

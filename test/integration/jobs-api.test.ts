import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 40 } });
});
afterAll(() => stack?.close());

interface JobView {
  id: string;
  status: string;
  position: number | null;
  hops: Array<{ target: string; status: string }>;
  result: { choices: Array<{ message: { content: string } }> } | null;
  error: { code: string } | null;
  links: { self: string; events: string };
}

async function submit(text: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<{ status: number; job: JobView }> {
  const res = await fetch(`${stack.api.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ type: 'chat', request: { model: 'mana/fast-text', messages: [{ role: 'user', content: text }] }, ...extra }),
  });
  return { status: res.status, job: (await res.json()) as JobView };
}

async function get(id: string): Promise<JobView> {
  return (await (await fetch(`${stack.api.url}/v1/jobs/${id}`)).json()) as JobView;
}

/** Reads an SSE stream until it ends (or `stopAfter` events), returning the events with their ids. */
async function readEvents(id: string, lastEventId?: number, stopAfter = Infinity): Promise<Array<{ id: number; type: string; data: Record<string, unknown> }>> {
  const controller = new AbortController();
  const res = await fetch(`${stack.api.url}/v1/jobs/${id}/events`, { signal: controller.signal, headers: lastEventId ? { 'last-event-id': String(lastEventId) } : {} });
  const events: Array<{ id: number; type: string; data: Record<string, unknown> }> = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2) ?? '';
        events.push({ id: Number(field('id')), type: field('event'), data: JSON.parse(field('data')) as Record<string, unknown> });
        // Hanging up mid-stream, as a client that loses its connection would.
        if (events.length >= stopAfter) controller.abort();
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return events;
}

const answer = (text: string) => replyText({ model: 'gemma3:4b', lastUserText: text, images: 0, promptWords: 0, json: false });

describe('native job API', () => {
  it('accepts a job (202), then GET shows it finished with the answer in OpenAI shape', async () => {
    const { status, job } = await submit('async hello');
    expect(status).toBe(202);
    expect(job.id).toMatch(/^job_/);
    expect(job.links.self).toContain(`/v1/jobs/${job.id}`);
    await expect.poll(async () => (await get(job.id)).status, { timeout: 10_000 }).toBe('succeeded');
    const done = await get(job.id);
    expect(done.result?.choices[0]?.message.content).toBe(answer('async hello'));
    expect(done.hops).toEqual([expect.objectContaining({ target: 'ollama/gemma3:4b', status: 'succeeded' })]);
  });

  it('returns the same job for the same Idempotency-Key, never a second one', async () => {
    const before = (await stack.jobs()).length;
    const first = await submit('once only', {}, { 'idempotency-key': 'order-42' });
    const second = await submit('once only', {}, { 'idempotency-key': 'order-42' });
    expect(second.job.id).toBe(first.job.id);
    expect((await stack.jobs()).length).toBe(before + 1);
  });

  it('streams the events of a job, resumable with Last-Event-ID, each delta exactly once', async () => {
    const text = 'one two three four five six seven';
    const { job } = await submit(text);
    const firstPart = await readEvents(job.id, undefined, 4);
    const lastSeen = firstPart.at(-1)!.id;
    const rest = await readEvents(job.id, lastSeen);
    const all = [...firstPart, ...rest];
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all.at(-1)?.type).toBe('done');
    const deltas = all.filter((e) => e.type === 'delta').map((e) => e.data.content as string);
    expect(deltas.join('')).toBe(answer(text));
  });

  it('gives a reader that connects after the end the whole output once', async () => {
    const { job } = await submit('late reader');
    await expect.poll(async () => (await get(job.id)).status, { timeout: 10_000 }).toBe('succeeded');
    const events = await readEvents(job.id);
    expect(events[0]?.type).toBe('queued');
    expect(
      events
        .filter((e) => e.type === 'delta')
        .map((e) => e.data.content)
        .join(''),
    ).toBe(answer('late reader'));
    // The stored done event keeps its result in the record; a late reader gets it all the same.
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    expect(done.data).toMatchObject({ result: { content: answer('late reader') } });
    expect(done.data).not.toHaveProperty('resultInRecord');
  });

  it('shows a waiting job its place in line, which shrinks as work drains; DELETE cancels waiting and running jobs', async () => {
    const jobs: JobView[] = [];
    for (const t of ['q1 a b c d e', 'q2 a b c d e', 'q3 a b c d e', 'q4 a b c d e']) jobs.push((await submit(t, { priority: 'batch' })).job);
    await expect.poll(async () => (await get(jobs[0]!.id)).status).toBe('running');
    const last = jobs[3]!;
    const startPosition = (await get(last.id)).position;
    expect(startPosition).toBe(2);
    await expect.poll(async () => (await get(last.id)).position, { timeout: 10_000 }).toBeLessThan(2);

    const cancelWaiting = await fetch(`${stack.api.url}/v1/jobs/${last.id}`, { method: 'DELETE' });
    expect(cancelWaiting.status).toBe(200);
    expect(((await cancelWaiting.json()) as JobView).status).toBe('cancelled');
    await expect.poll(async () => (await get(jobs[1]!.id)).status, { timeout: 10_000 }).toBe('running');
    expect((await fetch(`${stack.api.url}/v1/jobs/${jobs[1]!.id}`, { method: 'DELETE' })).status).toBe(200);
    await expect.poll(async () => (await get(jobs[1]!.id)).status).toBe('cancelled');
    // The GPU never ran the job cancelled while waiting.
    const bodies = stack.gpus[0]!.stats.snapshot().recent.map((r) => JSON.stringify(r.body ?? null));
    expect(bodies.some((b) => b.includes('q4 a b'))).toBe(false);
    const finished = await fetch(`${stack.api.url}/v1/jobs/${last.id}`, { method: 'DELETE' });
    expect(finished.status).toBe(400);
  });

  it('answers unknown jobs with 404 and bad bodies with 400 naming the field', async () => {
    expect((await fetch(`${stack.api.url}/v1/jobs/job_nope`)).status).toBe(404);
    const bad = await fetch(`${stack.api.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'chat', request: { messages: 'hi' } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('request.messages');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, type StackOptions, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function chat(s: Stack, text: string, options: { signal?: AbortSignal; priority?: string; stream?: boolean } = {}) {
  return fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    ...(options.signal ? { signal: options.signal } : {}),
    headers: { 'content-type': 'application/json', ...(options.priority ? { 'x-mana-priority': options.priority } : {}) },
    body: JSON.stringify({ model: 'ollama/gemma3:4b', stream: options.stream ?? false, messages: [{ role: 'user', content: text }] }),
  });
}

const onDeck = (options: StackOptions = {}) => startStack({ gpus: 1, ...options, env: { MANA_GPU_ON_DECK: 'true', ...options.env } });

describe('MANA_GPU_ON_DECK: one hop beyond the slots, queued at the server', () => {
  it.each([
    ['true', 3],
    ['false', 2],
  ])('with %s the server holds %i at most, and generates at its 2 slots', async (setting, most) => {
    stack = await startStack({ gpus: 1, maxConcurrent: 2, ollama: { timeToFirstTokenMs: 150 }, env: { MANA_GPU_ON_DECK: setting } });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => chat(stack!, `item ${i}`, { priority: 'batch' }).then((r) => r.json() as Promise<{ choices: Array<{ message: { content: string } }> }>)),
    );
    for (const [i, answer] of answers.entries()) expect(answer.choices[0]?.message.content).toContain(`item ${i}`);
    const stats = stack.gpus[0]!.stats.snapshot();
    expect(stats.maxInFlight).toBe(most);
    expect(stats.maxBusySlots).toBe(2);
    // Each ran once: eight requests reached the server, no more.
    expect(stats.requests['/api/chat gemma3:4b']).toBe(8);
  });

  it('a cancelled hop on deck leaves the server’s queue: it never generates, and the running one finishes', async () => {
    stack = await onDeck({ maxConcurrent: 1, ollama: { perTokenMs: 150 } });
    const gpu = stack.gpus[0]!;
    const busy = chat(stack, 'occupy the gpu a b c', { priority: 'batch' });
    busy.catch(() => {}); // awaited below; a failure before then must not count as unhandled
    await expect.poll(() => gpu.stats.snapshot().busySlots).toBe(1);
    const controller = new AbortController();
    const waiting = chat(stack, 'never run me', { signal: controller.signal, priority: 'batch' }).catch(() => undefined);
    // Sent ahead: the server holds it, waiting for its one slot.
    await expect.poll(() => gpu.stats.snapshot().inFlight).toBe(2);
    expect(gpu.stats.snapshot().busySlots).toBe(1);
    controller.abort();
    await waiting;
    await expect.poll(async () => (await stack!.jobs())[1]?.status).toBe('cancelled');
    await expect.poll(() => gpu.stats.snapshot().inFlight).toBe(1);
    expect((await busy).status).toBe(200);
    await expect.poll(() => gpu.stats.snapshot().inFlight).toBe(0);
    expect(gpu.stats.snapshot().maxBusySlots).toBe(1);
  });

  it('a streamed hop on deck waits in the worker, so its first-token deadline starts with its slot', async () => {
    // The running hop takes ~1.2 s; sent ahead, the streamed one would wait that long at the server and miss its 500 ms deadline.
    stack = await onDeck({ maxConcurrent: 1, ollama: { perTokenMs: 150 }, env: { MANA_OLLAMA_FIRST_TOKEN_TIMEOUT_MS: '500' } });
    const gpu = stack.gpus[0]!;
    const busy = chat(stack, 'a b c d e f g h', { priority: 'batch' });
    await expect.poll(() => gpu.stats.snapshot().busySlots).toBe(1);
    const streamed = await chat(stack, 'streamed x', { priority: 'batch', stream: true });
    const body = await streamed.text();
    expect(streamed.status).toBe(200);
    expect(body).toContain('streamed');
    expect(body).toContain('data: [DONE]');
    expect(body).not.toContain('error');
    expect((await busy).status).toBe(200);
    expect(gpu.stats.snapshot().maxInFlight).toBe(1);
    expect((await stack.jobs()).map((j) => j.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('while interactive work is present only a line of interactive hops goes on deck: a later interactive request would wait behind a batch item', async () => {
    stack = await onDeck({ maxConcurrent: 1, ollama: { timeToFirstTokenMs: 150 } });
    const gpu = stack.gpus[0]!;
    expect((await chat(stack, 'interactive now')).status).toBe(200);
    gpu.stats.reset();
    const batch = await Promise.all(Array.from({ length: 4 }, (_, i) => chat(stack!, `item ${i}`, { priority: 'batch' })));
    expect(batch.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(gpu.stats.snapshot().maxInFlight).toBe(1);
    // A line of interactive work goes on deck: its second waits for a slot anyway.
    gpu.stats.reset();
    const interactive = await Promise.all(Array.from({ length: 4 }, (_, i) => chat(stack!, `now ${i}`)));
    expect(interactive.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(gpu.stats.snapshot().maxInFlight).toBe(2);
    expect(gpu.stats.snapshot().maxBusySlots).toBe(1);
  });

  it('a lone interactive request is not sent on deck: it waits for the first slot free anywhere', async () => {
    stack = await onDeck({ maxConcurrent: 1, ollama: { perTokenMs: 100 } });
    const gpu = stack.gpus[0]!;
    const busy = chat(stack, 'a b c d e f', { priority: 'batch' });
    await expect.poll(() => gpu.stats.snapshot().busySlots).toBe(1);
    expect((await chat(stack, 'alone')).status).toBe(200);
    expect((await busy).status).toBe(200);
    expect(gpu.stats.snapshot().maxInFlight).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function chat(s: Stack, text: string, signal: AbortSignal, headers: Record<string, string> = {}) {
  return fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: text }] }),
  }).catch(() => undefined);
}

describe('a client that disconnects cancels its job', () => {
  it('aborts the provider call of a running job', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 200 } });
    const controller = new AbortController();
    const request = chat(stack, 'a b c d e f g h', controller.signal);
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    controller.abort();
    await request;
    await expect.poll(async () => (await stack!.jobs())[0]?.status).toBe('cancelled');
    // The GPU stopped generating for it.
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().inFlight).toBe(0);
  });

  it('removes a waiting job from the queue, so the GPU never runs it', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 100 } });
    const busy = chat(stack, 'occupy the gpu a b c', new AbortController().signal, { 'x-mana-priority': 'batch' });
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    const controller = new AbortController();
    const waiting = chat(stack, 'never run me', controller.signal, { 'x-mana-priority': 'batch' });
    await expect.poll(async () => (await stack!.jobs()).length).toBe(2);
    controller.abort();
    await waiting;
    await expect.poll(async () => (await stack!.jobs())[1]?.status).toBe('cancelled');
    expect((await busy)?.status).toBe(200);
    // The record is cancelled a moment before the hop leaves its queue.
    await expect
      .poll(async () => {
        const queue = (await stack!.status()).queues.ollama;
        return (queue?.waiting ?? 0) + (queue?.prioritized ?? 0);
      })
      .toBe(0);
    const bodies = stack.gpus[0]!.stats.snapshot().recent.map((r) => JSON.stringify(r.body ?? null));
    expect(bodies.some((b) => b.includes('never run me'))).toBe(false);
  });

  it.each([
    ['Ollama’s /api/chat', '/api/chat', { model: 'gemma3:4b', messages: [{ role: 'user', content: 'a b c d e f g h' }] }],
    ['Anthropic’s /v1/messages', '/v1/messages', { model: 'mana/fast-text', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'a b c d e f g h' }] }],
    ['the Responses API', '/v1/responses', { model: 'mana/fast-text', stream: true, input: 'a b c d e f g h' }],
  ])('the same on %s: the running job is cancelled and the GPU stops', async (_name, path, body) => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 200 } });
    const controller = new AbortController();
    const request = fetch(`${stack.api.url}${path}`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch(() => undefined);
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    controller.abort();
    await request;
    await expect.poll(async () => (await stack!.jobs())[0]?.status).toBe('cancelled');
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().inFlight).toBe(0);
  });
});

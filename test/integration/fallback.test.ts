import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ gpus: 1, env: { MANA_OLLAMA_TIMEOUT_MS: '600' } });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  for (const gpu of stack.gpus) {
    await gpu.up();
    gpu.reset();
  }
  stack.gemini.reset();
  // Wait until the probe has seen the GPU healthy again, so each test starts from a served GPU.
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

const gemini = (text: string) => replyText({ model: 'gemini-2.0-flash', lastUserText: text, images: 0, promptWords: 0, json: false });

async function ask(text: string) {
  return client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: text }] }).withResponse();
}

describe('failover from the GPU to Gemini', () => {
  it.each([
    ['answers 500', { mode: 'error', status: 500 }],
    ['hangs past the hop deadline', { mode: 'hang' }],
    ['resets the connection', { mode: 'reset' }],
  ] as const)('serves from Gemini when Ollama %s, recording why', async (_name, fault) => {
    stack.gpus[0]!.faults.add({ ...fault, times: 1 });
    const { data, response } = await ask('are you there');
    expect(data.choices[0]?.message.content).toBe(gemini('are you there'));
    expect(response.headers.get('x-mana-provider')).toBe('google');
    expect(response.headers.get('x-mana-hops')).toBe('2');
    const status = await stack.status();
    expect(status.fallbacks['ollama/gemma3:4b>google/gemini-2.0-flash>failover']).toBeGreaterThan(0);
  });

  it('serves from Gemini while the GPU is down, and from the GPU again once it is back', async () => {
    await stack.gpus[0]!.down();
    const first = await ask('down');
    expect(first.response.headers.get('x-mana-provider')).toBe('google');
    // While the GPU is known down, jobs skip it without trying it.
    await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok).toBe(false);
    const skipped = await ask('still down');
    expect(skipped.response.headers.get('x-mana-provider')).toBe('google');
    await stack.gpus[0]!.up();
    await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
    const back = await ask('back');
    expect(back.response.headers.get('x-mana-provider')).toBe('ollama');
  });

  it('fails a bad request at once, without rerouting it', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 400, message: 'invalid option num_ctx', times: 1 });
    const err = await ask('bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('provider_rejected');
    expect((err as Error).message).toContain('invalid option num_ctx');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
  });

  it("fails with every hop's error when the whole chain fails", async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, message: 'gpu exploded', times: 1 });
    // Twice: a cloud 5xx gets one quick retry on the same target first.
    stack.gemini.faults.add({ mode: 'error', status: 503, message: 'gemini overloaded', times: 2 });
    const err = await ask('doomed').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('chain_exhausted');
    expect((err as Error).message).toContain('gpu exploded');
    expect((err as Error).message).toContain('gemini overloaded');
  });

  it('keeps a directly named cloud target where it was asked (no fallback; one quick retry there)', async () => {
    stack.gemini.faults.add({ mode: 'error', status: 503, times: 2 });
    const before = stack.gemini.stats.snapshot().total;
    const err = await client.chat.completions.create({ model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('provider_unavailable');
    expect(stack.gemini.stats.snapshot().total - before).toBe(2);
    expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBeUndefined();
  });
});

describe('GPU health', () => {
  it('a GPU answering 503 "server busy" once is asked again shortly, not marked down; Gemini is not asked', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 503, times: 1 });
    const { data, response } = await ask('busy once');
    expect(response.headers.get('x-mana-provider')).toBe('ollama');
    expect(data.choices[0]?.message.content).toContain('busy once');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
    expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(2);
    expect((await stack.status()).gpus.gpu0?.ok).toBe(true);
    const job = (await stack.jobs()).at(-1);
    expect(job?.hops.map((h) => [h.status, h.retries, h.error?.code])).toEqual([['succeeded', 1, 'provider_rate_limited']]);
  });

  it('a GPU busy every time: three tries, then Gemini, within seconds', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 503 });
    const started = performance.now();
    const { response } = await ask('busy always');
    expect(response.headers.get('x-mana-provider')).toBe('google');
    expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(3);
    expect((performance.now() - started) / 1000).toBeLessThan(5);
  });

  it('keeps serving from a GPU whose /api/ps fails: that is not "GPU down"', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, route: '/api/ps' });
    // Let the probe run against the failing /api/ps at least twice.
    const probed = stack.gpus[0]!.stats.snapshot().requests['/api/ps'] ?? 0;
    await expect.poll(() => stack.gpus[0]!.stats.snapshot().requests['/api/ps'] ?? 0, { timeout: 5_000 }).toBeGreaterThan(probed + 1);
    expect((await stack.status()).gpus.gpu0?.ok).toBe(true);
    const { data, response } = await ask('still up');
    expect(response.headers.get('x-mana-provider')).toBe('ollama');
    expect(data.choices[0]?.message.content).toContain('still up');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ProviderError } from '@mana/errors';
import { type Emulator, type Fault, type TimingOptions, embedText, replyText, startGeminiEmulator, startOllamaEmulator, startOpenAICompatibleEmulator } from '@mana/emulators';
import { createGoogleAdapter } from './google/index.js';
import { createOllamaAdapter } from './ollama/index.js';
import { createOpenAICompatibleAdapter } from './openai-compatible/index.js';
import type { ChatRequest, ChatStreamEvent, ProviderAdapter } from './types.js';
import { IMAGE, failure } from './test-calls.js';

/** One adapter against its emulator: everything the suite needs to drive it. */
interface Case {
  name: string;
  start(timing?: TimingOptions): Promise<Emulator>;
  adapter(emulator: Emulator): ProviderAdapter;
  chatModel: string;
  embedModel: string;
  dimensions: number;
  /** The fault route that hits chat requests. */
  chatRoute: string;
}

const cases: Case[] = [
  {
    name: 'ollama',
    start: (timing) => startOllamaEmulator({ slots: 4, ...timing }),
    adapter: (e) => createOllamaAdapter({ name: 'gpu0', url: e.url }),
    chatModel: 'gemma3:4b',
    embedModel: 'nomic-embed-text',
    dimensions: 768,
    chatRoute: '/api/chat',
  },
  {
    name: 'google',
    start: (timing) => startGeminiEmulator({ apiKey: 'test-key', ...timing }),
    adapter: (e) => createGoogleAdapter({ apiKey: 'test-key', baseUrl: e.url }),
    chatModel: 'gemini-2.0-flash',
    embedModel: 'text-embedding-004',
    dimensions: 768,
    chatRoute: 'Content',
  },
  ...(['openrouter', 'groq', 'together'] as const).map((id): Case => ({
    name: id,
    start: (timing) => startOpenAICompatibleEmulator({ apiKey: 'test-key', ...timing }),
    adapter: (e) => createOpenAICompatibleAdapter({ id, apiKey: 'test-key', baseUrl: `${e.url}/${id}/v1` }),
    chatModel: { openrouter: 'deepseek/deepseek-r1', groq: 'llama-3.3-70b-versatile', together: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' }[id],
    embedModel: 'text-embedding-3-small',
    dimensions: 1536,
    chatRoute: '/chat/completions',
  })),
];

async function collect(stream: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const events: ChatStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe.each(cases)('$name adapter against its emulator', (c) => {
  let emulator: Emulator;
  let adapter: ProviderAdapter;
  const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: c.chatModel,
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: text },
    ],
    ...extra,
  });
  const expected = (text: string, images = 0) => replyText({ model: c.chatModel, lastUserText: text, images, promptWords: 0, json: false });
  const inject = (fault: Fault) => emulator.faults.add(fault);

  beforeAll(async () => {
    emulator = await c.start();
    adapter = c.adapter(emulator);
  });
  afterEach(async () => {
    await emulator.up();
    emulator.reset();
  });
  afterAll(() => emulator.close());

  it('chats: exact text, usage, finish reason and the model that answered', async () => {
    const result = await adapter.chat(ask('hello there'));
    expect(result.content).toBe(expected('hello there'));
    expect(result.finishReason).toBe('stop');
    expect(result.model).toBe(c.chatModel);
    expect(result.usage.promptTokens).toBeGreaterThan(0);
    expect(result.usage.completionTokens).toBe(result.content.split(' ').length);
  });

  it('streams deltas in order that join to the full text, then one done', async () => {
    const events = await collect(adapter.chatStream(ask('one two three four five')));
    const deltas = events.filter((e) => e.type === 'delta').map((e) => (e as { content: string }).content);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(expected('one two three four five'));
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
    if (done?.type === 'done') {
      expect(done.result.content).toBe(deltas.join(''));
      expect(done.result.usage.completionTokens).toBe(deltas.length);
    }
  });

  it('stops at max_tokens with finish reason length', async () => {
    const result = await adapter.chat(ask('a b c d e f g', { params: { maxTokens: 3 } }));
    expect(result.finishReason).toBe('length');
    expect(result.content).toBe(expected('a b c d e f g').split(' ').slice(0, 3).join(' ') + ' ');
  });

  it('sends images (vision) as the provider expects them', async () => {
    const result = await adapter.chat({
      model: c.chatModel,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image', mimeType: 'image/png', data: IMAGE },
          ],
        },
      ],
    });
    expect(result.content).toBe(expected('what is this', 1));
  });

  it('asks for JSON output when the response format says so', async () => {
    const result = await adapter.chat(ask('structured please', { params: { responseFormat: { type: 'json_object' } } }));
    expect(JSON.parse(result.content)).toEqual({ model: c.chatModel, echo: 'structured please', images: 0 });
  });

  it('embeds many inputs, one vector each, in order', async () => {
    const inputs = ['alpha', 'beta', 'gamma'];
    const result = await adapter.embed({ model: c.embedModel, input: inputs });
    expect(result.embeddings).toHaveLength(3);
    result.embeddings.forEach((vector, i) => {
      expect(vector).toHaveLength(c.dimensions);
      const want = embedText(c.embedModel, inputs[i] as string, c.dimensions);
      vector.forEach((v, j) => expect(v).toBeCloseTo(want[j] as number, 5));
    });
  });

  it('makes exactly one request per call: the SDK retries nothing', async () => {
    inject({ mode: 'error', status: 500 });
    await failure(adapter.chat(ask('x')));
    expect(emulator.stats.snapshot().total).toBe(1);
  });

  it.each([
    [500, 'provider_unavailable'],
    [503, 'provider_unavailable'],
    [429, 'provider_rate_limited'],
    [404, 'model_unavailable'],
    [401, 'provider_auth'],
    [403, 'provider_auth'],
    [400, 'provider_rejected'],
  ] as const)('classifies HTTP %i as %s, keeping the status', async (status, code) => {
    inject({ mode: 'error', status, message: `injected ${status}` });
    const err = await failure(adapter.chat(ask('x')));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe(code);
    expect((err as ProviderError).upstreamStatus).toBe(status);
    expect(err.message).toContain(`injected ${status}`);
    expect((err as ProviderError).target).toBe(`${c.name}/${c.chatModel}`);
  });

  it('classifies an HTTP error on a streamed call the same way', async () => {
    inject({ mode: 'error', status: 503, message: 'service unavailable' }); // Ollama's own 503 ("server busy") is backpressure: provider-specifics
    const err = await failure(collect(adapter.chatStream(ask('x'))));
    expect(err.code).toBe('provider_unavailable');
  });

  it('classifies a model the provider lacks as model_unavailable', async () => {
    const err = await failure(adapter.chat(ask('x', { model: 'no-such-model' })));
    expect(err.code).toBe('model_unavailable');
    expect((err as ProviderError).upstreamStatus).toBe(404);
  });

  it('classifies connection refused as provider_unavailable', async () => {
    await emulator.down();
    const err = await failure(adapter.chat(ask('x')));
    expect(err.code).toBe('provider_unavailable');
  });

  it('classifies a reset connection as provider_unavailable', async () => {
    inject({ mode: 'reset' });
    expect((await failure(adapter.chat(ask('x')))).code).toBe('provider_unavailable');
  });

  it('times out a hung provider at the gateway deadline', async () => {
    inject({ mode: 'hang' });
    const err = await failure(adapter.chat(ask('x'), { timeoutMs: 300 }));
    expect(err.code).toBe('provider_timeout');
    expect(err.message).toContain('300 ms');
  });

  it('fails a stream that is cut after the first token as provider_unavailable, after yielding it', async () => {
    inject({ mode: 'drop-stream', afterChunks: 1 });
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const e of adapter.chatStream(ask('one two three'))) if (e.type === 'delta') seen.push(e.content);
      })(),
    );
    expect(err.code).toBe('provider_unavailable');
    expect(seen.join('')).toBe(expected('one two three').split(' ')[0] + ' ');
  });

  it("fails on the provider's own mid-stream error form", async () => {
    inject({ mode: 'stream-error', afterChunks: 2, message: 'GPU fell over' });
    const err = await failure(collect(adapter.chatStream(ask('one two three four'))));
    expect(err.code).toBe('provider_unavailable');
  });

  it('stops the provider call when the caller cancels mid-stream', async () => {
    const slowEmulator = await c.start({ perTokenMs: 30 });
    try {
      const slow = c.adapter(slowEmulator);
      const controller = new AbortController();
      const deltas: string[] = [];
      const err = await failure(
        (async () => {
          for await (const e of slow.chatStream(ask('w1 w2 w3 w4 w5 w6 w7 w8 w9 w10'), { signal: controller.signal })) {
            if (e.type === 'delta') {
              deltas.push(e.content);
              controller.abort();
            }
          }
        })(),
      );
      expect(err).toBeInstanceOf(CancelledError);
      expect(deltas.length).toBeLessThan(5);
      // The emulator saw its client go away: nothing is still generating there.
      await expect.poll(() => slowEmulator.stats.snapshot().inFlight + slowEmulator.stats.snapshot().busySlots).toBe(0);
    } finally {
      await slowEmulator.close();
    }
  });
});

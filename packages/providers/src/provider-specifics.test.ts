import { describe, expect, it } from 'vitest';
import { shippedModels, startGeminiEmulator, startOllamaEmulator, startOpenAICompatibleEmulator } from '@mana/emulators';
import { createGoogleAdapter } from './google/index.js';
import { createOllamaAdapter } from './ollama/index.js';
import { createLocalEngineAdapter, createOpenAICompatibleAdapter } from './openai-compatible/index.js';
import { IMAGE, failure } from './test-calls.js';

describe('provider specifics', () => {
  it('ollama: images travel as base64 in messages[].images, never as file paths', async () => {
    const emulator = await startOllamaEmulator();
    try {
      const adapter = createOllamaAdapter({ name: 'gpu0', url: emulator.url });
      await adapter.chat({
        model: 'llava:7b',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'hi' },
              { type: 'image', mimeType: 'image/png', data: IMAGE },
            ],
          },
        ],
      });
      const body = emulator.stats.snapshot().recent.at(-1)?.body as { messages: Array<{ images?: string[] }>; stream: boolean };
      expect(body.messages[0]?.images).toEqual([IMAGE]);
      expect(body.stream).toBe(false);
    } finally {
      await emulator.close();
    }
  });

  it('ollama: a full queue answers the "server busy" 503, which is backpressure (a 429 in all but number)', async () => {
    const emulator = await startOllamaEmulator({ slots: 1, maxQueue: 0, perTokenMs: 50 });
    try {
      const adapter = createOllamaAdapter({ name: 'gpu0', url: emulator.url });
      const first = adapter.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'a b c d' }] });
      await expect.poll(() => emulator.stats.snapshot().busySlots).toBe(1);
      const err = await failure(adapter.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'x' }] }));
      expect(err.code).toBe('provider_rate_limited');
      expect(err.message).toContain('server busy, please try again.  maximum pending requests exceeded');
      await first;
    } finally {
      await emulator.close();
    }
  });

  it('local OpenAI-compatible engine (vLLM-style): probed through /v1/models, every listed model loaded; an unknown model is its 404', async () => {
    const emulator = await startOpenAICompatibleEmulator({ localEngine: { models: [{ name: 'Qwen/Qwen2.5-7B-Instruct', kind: 'chat' }] } });
    try {
      const adapter = createLocalEngineAdapter({ name: 'vllm0', url: emulator.url, engine: 'openai' });
      expect(adapter.endpoint).toBe('ollama:vllm0');
      expect(await adapter.health()).toMatchObject({ ok: true, models: ['Qwen/Qwen2.5-7B-Instruct'], loadedModels: ['Qwen/Qwen2.5-7B-Instruct'] });
      const answer = await adapter.chat({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.content.length).toBeGreaterThan(0);
      const missing = await failure(adapter.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'hi' }] }));
      expect(missing).toMatchObject({ upstreamStatus: 404 });
      expect(missing.message).toContain('The model `gemma3:4b` does not exist.');
      await emulator.down();
      expect((await adapter.health()).ok).toBe(false);
    } finally {
      await emulator.close();
    }
  });

  it('ollama: health reports the version and the loaded models, and fails when the server is down', async () => {
    const emulator = await startOllamaEmulator({ warmModels: ['gemma3:4b'], loadMs: 10 });
    try {
      const adapter = createOllamaAdapter({ name: 'gpu0', url: emulator.url });
      const models = shippedModels('ollama').map((m) => (m.name.includes(':') ? m.name : `${m.name}:latest`));
      expect(await adapter.health()).toEqual({ ok: true, detail: 'ollama 0.12.6', loadedModels: ['gemma3:4b'], models });
      // A server that answers chat but not /api/ps (an old build, a proxy that only passes
      // the inference routes) is up; only what it has loaded is unknown.
      emulator.faults.add({ mode: 'error', status: 404, route: '/api/ps' });
      const noPs = await adapter.health();
      expect(noPs.ok).toBe(true);
      expect(noPs.loadedModels).toBeUndefined();
      expect(noPs.detail).toContain('/api/ps did not answer');
      emulator.faults.clear();
      await emulator.down();
      const down = await adapter.health();
      expect(down.ok).toBe(false);
      expect(down.detail).toContain('unreachable');
    } finally {
      await emulator.close();
    }
  });

  it("google: a wrong API key is our misconfiguration (provider_auth), not the client's", async () => {
    const emulator = await startGeminiEmulator({ apiKey: 'right' });
    try {
      const adapter = createGoogleAdapter({ apiKey: 'wrong', baseUrl: emulator.url });
      const err = await failure(adapter.chat({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'x' }] }));
      expect(err.code).toBe('provider_auth');
      expect(err.message).toContain('API key not valid');
    } finally {
      await emulator.close();
    }
  });

  it('google: an exhausted quota is provider_rate_limited', async () => {
    const emulator = await startGeminiEmulator({ quotaPerMinute: 1 });
    try {
      const adapter = createGoogleAdapter({ apiKey: 'emulator-key', baseUrl: emulator.url });
      const request = { model: 'gemini-2.0-flash', messages: [{ role: 'user' as const, content: 'x' }] };
      await adapter.chat(request);
      const err = await failure(adapter.chat(request));
      expect(err.code).toBe('provider_rate_limited');
      expect(err.message).toContain('RESOURCE_EXHAUSTED');
    } finally {
      await emulator.close();
    }
  });

  it('google: the system message becomes the system instruction', async () => {
    const emulator = await startGeminiEmulator();
    try {
      const adapter = createGoogleAdapter({ apiKey: 'emulator-key', baseUrl: emulator.url });
      await adapter.chat({
        model: 'gemini-2.0-flash',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
        ],
        params: { temperature: 0.2 },
      });
      const body = emulator.stats.snapshot().recent.at(-1)?.body as Record<string, unknown>;
      expect(body.systemInstruction).toEqual({ parts: [{ text: 'be brief' }], role: 'user' });
      expect(body.generationConfig).toEqual({ temperature: 0.2 });
      expect(body.contents).toEqual([{ parts: [{ text: 'hi' }], role: 'user' }]);
    } finally {
      await emulator.close();
    }
  });

  it('google and openai-compatible without a key fail as provider_auth, naming the variable', async () => {
    const google = createGoogleAdapter({ apiKey: undefined, baseUrl: 'http://127.0.0.1:9' });
    expect((await failure(google.chat({ model: 'm', messages: [] }))).message).toContain('GOOGLE_API_KEY');
    const groq = createOpenAICompatibleAdapter({ id: 'groq', apiKey: undefined, baseUrl: 'http://127.0.0.1:9' });
    const err = await failure(groq.chat({ model: 'm', messages: [] }));
    expect(err.code).toBe('provider_auth');
    expect(err.message).toContain('GROQ_API_KEY');
  });

  it('openrouter: an HTTP-200 body carrying an error is detected and classified by its code', async () => {
    const emulator = await startOpenAICompatibleEmulator();
    try {
      const adapter = createOpenAICompatibleAdapter({ id: 'openrouter', apiKey: 'k', baseUrl: `${emulator.url}/openrouter/v1` });
      emulator.faults.add({ mode: 'error-200', status: 502, message: 'upstream overloaded' });
      const err = await failure(adapter.chat({ model: 'deepseek/deepseek-r1', messages: [{ role: 'user', content: 'x' }] }));
      expect(err.code).toBe('provider_unavailable');
      expect(err.message).toContain('upstream overloaded');
    } finally {
      await emulator.close();
    }
  });

  it('openai-compatible: asks for float embeddings explicitly and sends no retry', async () => {
    const emulator = await startOpenAICompatibleEmulator();
    try {
      const adapter = createOpenAICompatibleAdapter({ id: 'together', apiKey: 'k', baseUrl: `${emulator.url}/together/v1` });
      await adapter.embed({ model: 'text-embedding-3-small', input: ['a'] });
      const last = emulator.stats.snapshot().recent.at(-1);
      expect((last?.body as { encoding_format: string }).encoding_format).toBe('float');
      expect(last?.headers['x-stainless-retry-count']).toBe('0');
    } finally {
      await emulator.close();
    }
  });
});

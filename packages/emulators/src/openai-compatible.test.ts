import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { type OpenAICompatibleEmulator, embedText, startOpenAICompatibleEmulator } from './index.js';

let emulator: OpenAICompatibleEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

describe('openai-compatible emulator: the wire', () => {
  it('streams SSE chunks ending with data: [DONE], usage when asked, and OpenRouter keep-alive comments', async () => {
    emulator = await startOpenAICompatibleEmulator();
    const res = await fetch(`${emulator.baseUrlFor('openrouter')}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'deepseek/deepseek-r1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.text();
    expect(text.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks = text
      .split('\n\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as Record<string, any>);
    expect(chunks.at(-1)?.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('stop');
  });

  it('returns base64 float32 embeddings when the SDK asks by default, and floats when asked', async () => {
    emulator = await startOpenAICompatibleEmulator();
    const client = new OpenAI({ apiKey: 'k', baseURL: emulator.baseUrlFor('together'), maxRetries: 0 });
    const defaulted = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    expect((emulator.stats.snapshot().recent.at(-1)?.body as { encoding_format: string }).encoding_format).toBe('base64');
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'float' });
    const want = embedText('text-embedding-3-small', 'x', 1536);
    expect(floats.data[0]?.embedding[3]).toBeCloseTo(want[3] as number, 6);
    expect(defaulted.data[0]?.embedding[3]).toBeCloseTo(want[3] as number, 6);
  });

  it('serves each provider only its own models under its prefix', async () => {
    emulator = await startOpenAICompatibleEmulator();
    const groq = new OpenAI({ apiKey: 'k', baseURL: emulator.baseUrlFor('groq'), maxRetries: 0 });
    await expect(groq.chat.completions.create({ model: 'deepseek/deepseek-r1', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404 });
    const ok = await groq.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]?.message.content).toBe('Echo from llama-3.3-70b-versatile: x');
  });

  it('checks the bearer key', async () => {
    emulator = await startOpenAICompatibleEmulator({ apiKey: 'right' });
    const client = new OpenAI({ apiKey: 'wrong', baseURL: emulator.baseUrlFor('groq'), maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });
});

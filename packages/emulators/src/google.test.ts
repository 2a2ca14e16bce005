import { afterEach, describe, expect, it } from 'vitest';
import { GoogleGenAI } from '@google/genai';
import { type GeminiEmulator, startGeminiEmulator } from './index.js';

let emulator: GeminiEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const post = (url: string, path: string, body: object, key = 'emulator-key') =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': key }, body: JSON.stringify(body) });

describe('gemini emulator: the wire', () => {
  it('streams SSE events separated by CRLF CRLF, with no [DONE], the last carrying finishReason and usage', async () => {
    emulator = await startGeminiEmulator();
    const res = await post(emulator.url, '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse', {
      contents: [{ role: 'user', parts: [{ text: 'one two' }] }],
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text.endsWith('\r\n\r\n')).toBe(true);
    expect(text).not.toContain('[DONE]');
    const events = text
      .split('\r\n\r\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, any>);
    expect(events.length).toBeGreaterThan(1);
    expect(events.at(-1)?.candidates[0].finishReason).toBe('STOP');
    expect(events.at(-1)?.usageMetadata.candidatesTokenCount).toBe(events.length);
    expect(new Set(events.map((e) => e.responseId)).size).toBe(1);
  });

  it('checks x-goog-api-key and answers a bad key as the real API does (400 API_KEY_INVALID)', async () => {
    emulator = await startGeminiEmulator({ apiKey: 'good' });
    const res = await post(emulator.url, '/v1beta/models/gemini-2.0-flash:generateContent', { contents: [] }, 'bad');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { status: string; details: Array<{ reason: string }> } };
    expect(body.error.status).toBe('INVALID_ARGUMENT');
    expect(body.error.details[0]?.reason).toBe('API_KEY_INVALID');
  });

  it('answers an unknown model with 404 NOT_FOUND', async () => {
    emulator = await startGeminiEmulator();
    const res = await post(emulator.url, '/v1beta/models/gemini-9:generateContent', { contents: [] });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
  });

  it('runs out of quota with 429 RESOURCE_EXHAUSTED and a RetryInfo', async () => {
    emulator = await startGeminiEmulator({ quotaPerMinute: 2 });
    const body = { contents: [{ role: 'user', parts: [{ text: 'x' }] }] };
    for (let i = 0; i < 2; i++) expect((await post(emulator.url, '/v1beta/models/gemini-2.0-flash:generateContent', body)).status).toBe(200);
    const res = await post(emulator.url, '/v1beta/models/gemini-2.0-flash:generateContent', body);
    expect(res.status).toBe(429);
    const error = ((await res.json()) as { error: { status: string; details: Array<Record<string, string>> } }).error;
    expect(error.status).toBe('RESOURCE_EXHAUSTED');
    expect(error.details.some((d) => d['@type']?.endsWith('RetryInfo'))).toBe(true);
  });

  it('answers the real SDK: text, stream and batch embeddings', async () => {
    emulator = await startGeminiEmulator();
    const ai = new GoogleGenAI({ apiKey: 'emulator-key', vertexai: false, httpOptions: { baseUrl: emulator.url } });
    const reply = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hello' });
    expect(reply.text).toBe('Echo from gemini-2.0-flash: hello');
    let streamed = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.0-flash', contents: 'a b c' })) streamed += chunk.text ?? '';
    expect(streamed).toBe('Echo from gemini-2.0-flash: a b c');
    const embedded = await ai.models.embedContent({ model: 'text-embedding-004', contents: ['a', 'b'], config: { outputDimensionality: 8 } });
    expect(embedded.embeddings?.map((e) => e.values?.length)).toEqual([8, 8]);
    expect(emulator.stats.snapshot().requests['/v1beta/models/text-embedding-004:batchEmbedContents text-embedding-004']).toBe(1);
  });
});

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;
let client: OpenAI;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]).toString('base64');

beforeAll(async () => {
  stack = await startStack({ gpus: 1 });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error: { message: string; param: string | null; code: string; type: string } } };
}

const hi = [{ role: 'user', content: 'hi' }];

describe('bad input gets a 4xx naming the field, and no job', () => {
  it.each([
    ['a body that is not JSON', '/chat/completions', '{"model": ', null, 'invalid_request'],
    ['no messages', '/chat/completions', { model: 'mana/fast-text' }, 'messages', 'invalid_request'],
    ['an empty message list', '/chat/completions', { messages: [] }, 'messages', 'invalid_request'],
    ['an unknown role', '/chat/completions', { messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role', 'invalid_request'],
    ['n > 1', '/chat/completions', { messages: hi, n: 3 }, 'n', 'invalid_request'],
    ['a temperature out of range', '/chat/completions', { messages: hi, temperature: 7 }, 'temperature', 'invalid_request'],
    [
      'a remote image URL',
      '/chat/completions',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
            ],
          },
        ],
      },
      'messages.0.content.1.image_url',
      'invalid_request',
    ],
    ['an embedding alias for chat', '/chat/completions', { model: 'mana/embed', messages: hi }, 'model', 'invalid_request'],
    ['a chat alias for embeddings', '/embeddings', { model: 'mana/fast-text', input: 'x' }, 'model', 'invalid_request'],
    ['token arrays as embedding input', '/embeddings', { input: [[1, 2, 3]] }, 'input', 'invalid_request'],
    ['no embedding input', '/embeddings', { model: 'mana/embed' }, 'input', 'invalid_request'],
  ])('%s', async (_name, path, body, param, code) => {
    const before = (await stack.jobs()).length;
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.type).toBe('invalid_request_error');
    if (param) {
      expect(res.body.error.param).toBe(param);
      expect(res.body.error.message).toContain(param);
    }
    expect((await stack.jobs()).length).toBe(before);
  });

  it('rejects a bad scheduling header, naming it', async () => {
    const res = await post('/chat/completions', { messages: hi }, { 'x-mana-priority': 'urgent' });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('x-mana-priority');
  });

  it('answers an oversize body with 413', async () => {
    const res = await post('/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(21 * 1024 * 1024) }] });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('limits messages, images and embedding inputs per request, naming the field', async () => {
    const many = await post('/chat/completions', { messages: Array.from({ length: 2049 }, () => ({ role: 'user', content: 'x' })) });
    expect(many.status).toBe(400);
    expect(many.body.error.message).toContain('at most 2048 messages');
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } };
    const images = await post('/chat/completions', { messages: [{ role: 'user', content: Array.from({ length: 17 }, () => image) }] });
    expect(images.status).toBe(400);
    expect(images.body.error.message).toContain('at most 16 images');
    const huge = await post('/chat/completions', {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(14 * 1024 * 1024)}` } }] }],
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.message).toContain('messages.0.content.0.image_url: the image is');
    const inputs = await post('/embeddings', { input: Array.from({ length: 2049 }, () => 'x') });
    expect(inputs.status).toBe(400);
    expect(inputs.body.error.param).toBe('input');
  });

  it('answers an unknown route with a 404 in the same error shape', async () => {
    const res = await post('/no-such-route', { prompt: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('requests that need capabilities', () => {
  it('sends images to a vision target', async () => {
    const answer = await client.chat.completions.create({
      model: 'mana/vision',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is it' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    });
    expect(answer.choices[0]?.message.content).toBe('Echo from llava:7b: what is it [saw 1 image]');
  });

  it('skips targets that cannot follow a JSON schema', async () => {
    const answer = await client.chat.completions.create({
      model: 'mana/fast-text',
      messages: [{ role: 'user', content: 'structured' }],
      response_format: { type: 'json_schema', json_schema: { name: 'echo', schema: { type: 'object' } } },
    });
    // gemma3:4b lacks structured_output in aliases.yaml, so the chain starts at Gemini.
    expect(answer.model).toBe('google/gemini-2.0-flash');
    expect(JSON.parse(answer.choices[0]?.message.content ?? '')).toMatchObject({ echo: 'structured' });
  });

  it('returns JSON when asked for a JSON object', async () => {
    const answer = await client.chat.completions.create({
      model: 'mana/fast-text',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(answer.choices[0]?.message.content ?? '')).toEqual({ model: 'gemma3:4b', echo: 'json please', images: 0 });
  });

  it('answers a chat as JSON of its exact length, without an ETag (no client can make a POST conditional)', async () => {
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: 'naïve café ☕' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('etag')).toBeNull();
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    expect((JSON.parse(bytes.toString('utf8')) as { object: string }).object).toBe('chat.completion');
  });

  it('honours max_tokens with finish_reason length', async () => {
    const answer = await client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'a b c d e f' }], max_tokens: 2 });
    expect(answer.choices[0]?.finish_reason).toBe('length');
    expect(answer.usage?.completion_tokens).toBe(2);
  });

  it('serves a bare Ollama model name, and embeddings of the requested size', async () => {
    const chat = await client.chat.completions.create({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'bare' }] });
    expect(chat.model).toBe('ollama/qwen3:8b');
    const vectors = await client.embeddings.create({ model: 'mana/embed', input: 'x', dimensions: 16, encoding_format: 'float' });
    expect(vectors.data[0]?.embedding).toHaveLength(16);
  });
});

describe('health routes', () => {
  it('/health is alive, /ready checks Redis, /status shows GPUs and queues', async () => {
    expect((await fetch(`${stack.api.url}/health`)).status).toBe(200);
    const ready = await fetch(`${stack.api.url}/ready`);
    expect(ready.status).toBe(200);
    const status = await stack.status();
    expect(Object.keys(status.gpus)).toEqual(['gpu0']);
    expect(status.queues.ollama).toHaveProperty('active');
    expect(status.providers.google?.configured).toBe(true);
  });
});

describe('AUTO_FALLBACK_ENABLED=false', () => {
  it('fails a job whose GPU fails instead of moving it to the cloud', async () => {
    const strict = await startStack({ gpus: 1, env: { AUTO_FALLBACK_ENABLED: 'false' } });
    try {
      strict.gpus[0]!.faults.add({ mode: 'error', status: 500, message: 'gpu fault', times: 1 });
      const local = new OpenAI({ baseURL: strict.baseURL, apiKey: 'unused', maxRetries: 0 });
      const err = await local.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('provider_unavailable');
      expect(strict.gemini.stats.snapshot().total).toBe(0);
    } finally {
      await strict.close();
    }
  });
});

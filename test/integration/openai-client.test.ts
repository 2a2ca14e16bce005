import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedText, replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ gpus: 1 });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());

const echo = (model: string, text: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false });

describe('the official openai client, pointed at Mana', () => {
  it('chats through an alias, served by the GPU', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'hello gateway' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(echo('gemma3:4b', 'hello gateway'));
    expect(data.model).toBe('ollama/gemma3:4b');
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-mana-job-id')).toMatch(/^job_[0-9a-f]{32}$/);
    expect(response.headers.get('x-mana-provider')).toBe('ollama');
    expect(response.headers.get('x-mana-hops')).toBe('1');
    expect(stack.gpus[0]?.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(1);
  });

  it('streams deltas in order that join to the answer', async () => {
    const stream = await client.chat.completions.create({
      model: 'mana/fast-text',
      messages: [{ role: 'user', content: 'one two three four' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    let usage;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas.join('')).toBe(echo('gemma3:4b', 'one two three four'));
    expect(deltas.length).toBeGreaterThan(3);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(deltas.length);
  });

  it('embeds many inputs (base64 by the SDK default, decoded by the SDK)', async () => {
    const result = await client.embeddings.create({ model: 'mana/embed', input: ['a', 'b', 'c'] });
    expect(result.data).toHaveLength(3);
    expect(result.data[0]?.embedding).toHaveLength(768);
    expect(result.model).toBe('ollama/nomic-embed-text');
  });

  it('answers JSON floats that read back as the GPU’s own float32 vectors, the same as base64', async () => {
    const input = ['alpha', 'beta'];
    const [floats, packed] = await Promise.all([
      client.embeddings.create({ model: 'mana/embed', input, encoding_format: 'float' }),
      client.embeddings.create({ model: 'mana/embed', input }),
    ]);
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    floats.data.forEach((d, k) => {
      const gpu = Float32Array.from(embedText('nomic-embed-text', input[k]!, 768));
      expect(Float32Array.from(d.embedding)).toEqual(gpu);
      expect(Float32Array.from(packed.data[k]!.embedding)).toEqual(gpu);
    });
  });

  it('uses the default alias when the model is left out', async () => {
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: string }).model).toBe('ollama/gemma3:4b');
  });

  it('lists aliases and targets in /v1/models', async () => {
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['mana/fast-text', 'mana/embed', 'ollama/gemma3:4b', 'google/gemini-2.0-flash']));
  });

  it('answers an unknown alias with 404 listing the known ones', async () => {
    const err = await client.chat.completions.create({ model: 'mana/nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((err as Error).message).toContain('mana/fast-text');
  });

  it('answers bad input with 400 naming the field', async () => {
    const err = await client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'wizard' as 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages.0.role');
  });
});

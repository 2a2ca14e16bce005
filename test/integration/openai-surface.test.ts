import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

/** The smaller holes of the OpenAI surface that pipelines and SDK helpers hit, through the official client. */
let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());

describe('GET /v1/models/{id}', () => {
  it('answers an alias with its chain, and a target whose id holds slashes', async () => {
    const alias = (await client.models.retrieve('mana/fast-text')) as unknown as { id: string; chain: string[] };
    expect(alias).toMatchObject({ id: 'mana/fast-text', object: 'model', owned_by: 'mana', chain: ['ollama/gemma3:4b', 'google/gemini-2.0-flash'] });
    expect(await client.models.retrieve('openrouter/deepseek/deepseek-r1')).toMatchObject({ id: 'openrouter/deepseek/deepseek-r1', owned_by: 'openrouter' });
    await expect(client.models.retrieve('mana/nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('GET /v1/files and DELETE /v1/files/{id}', () => {
  it('lists the tenant’s files newest first, paged by the SDK, and deletes one', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await client.files.create({ file: await toFile(Buffer.from(`{"n":${n}}\n`), `f${n}.jsonl`), purpose: 'batch' })).id);
    const first = await client.files.list({ limit: 2 });
    expect(first.data.map((f) => f.id)).toEqual([ids[2], ids[1]]);
    expect(first.hasNextPage()).toBe(true);
    const all: string[] = [];
    for await (const file of client.files.list({ limit: 2 })) all.push(file.id);
    expect(all).toEqual([...ids].reverse());

    expect(await client.files.delete(ids[1]!)).toEqual({ id: ids[1], object: 'file', deleted: true });
    await expect(client.files.retrieve(ids[1]!)).rejects.toMatchObject({ status: 404 });
    const after: string[] = [];
    for await (const file of client.files.list()) after.push(file.id);
    expect(after).toEqual([ids[2], ids[0]]);
  });
});

describe('clear 400s instead of silent drops', () => {
  it('token-array embedding input says token arrays are not supported and why', async () => {
    const err = (await client.embeddings.create({ model: 'mana/embed', input: [[1, 2, 3]] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.message).toContain('token arrays are not supported, because one request may be served by models with different tokenizers');
    expect((err.error as { param?: string }).param).toBe('input');
  });

  it('logprobs on a target that has them (a GPU, an OpenAI-compatible provider); a clear 400 where none does, or on a stream', async () => {
    const ask = (model: string, extra: object = {}) =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content: 'rate these words' }], logprobs: true, top_logprobs: 2, ...extra });
    for (const model of ['mana/fast-text', 'openrouter/deepseek/deepseek-r1']) {
      const answer = await ask(model);
      const content = answer.choices[0]?.logprobs?.content ?? [];
      expect(content.map((c) => c.token).join('')).toBe(answer.choices[0]?.message.content);
      expect(content[0]).toMatchObject({ token: 'Echo ', logprob: -0.01, bytes: [...Buffer.from('Echo ')] });
      expect(content[0]?.top_logprobs).toHaveLength(2);
    }
    await expect(ask('google/gemini-2.0-flash')).rejects.toMatchObject({ status: 400, message: expect.stringContaining('has no target with logprobs') });
    await expect(ask('mana/fast-text', { stream: true })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('not available on a streamed answer') });
    // Without logprobs asked, none come back.
    const plain = await client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'plain' }] });
    expect(plain.choices[0]?.logprobs).toBeNull();
  });
});

import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyText, tokenize } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

/** Legacy completions (/v1/completions) through the official client: Ollama's generate, a provider's completions API, FIM. */
let stack: Stack;
let client: OpenAI;

const ALIASES = `version: 1
default: mana/code
models:
  ollama/qwen2.5-coder:7b: { kind: chat }
  ollama/gemma3:4b: { kind: chat }
  together/meta-llama/Llama-3.3-70B-Instruct-Turbo: { kind: chat }
  google/gemini-2.0-flash: { kind: chat }
  groq/llama-3.3-70b-versatile: { kind: chat }
aliases:
  mana/code:
    chain: [ollama/qwen2.5-coder:7b, together/meta-llama/Llama-3.3-70B-Instruct-Turbo]
  mana/text:
    chain: [ollama/gemma3:4b, google/gemini-2.0-flash]
  mana/chat-only:
    chain: [google/gemini-2.0-flash, groq/llama-3.3-70b-versatile]
`;

beforeAll(async () => {
  stack = await startStack({
    aliasesYaml: ALIASES,
    ollama: {
      models: [
        { name: 'qwen2.5-coder:7b', kind: 'chat', insert: true },
        { name: 'gemma3:4b', kind: 'chat' },
      ],
    },
  });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  stack.gpus[0]!.faults.clear();
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

const fresh = (model: string, text: string, suffix?: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false, suffix });
const lastGenerate = () =>
  stack.gpus[0]!.stats.snapshot()
    .recent.filter((r) => r.path === '/api/generate')
    .at(-1)?.body as { prompt: string; raw?: boolean; suffix?: string; options: { num_predict?: number } };

describe('POST /v1/completions', () => {
  it('continues a prompt on a GPU through Ollama’s generate, raw, at most 16 tokens unless told', async () => {
    const completion = await client.completions.create({ model: 'mana/code', prompt: 'def add(a, b):' });
    expect(completion).toMatchObject({ object: 'text_completion', model: 'ollama/qwen2.5-coder:7b' });
    expect(completion.choices[0]).toMatchObject({ index: 0, text: fresh('qwen2.5-coder:7b', 'def add(a, b):'), finish_reason: 'stop' });
    expect(lastGenerate()).toMatchObject({ prompt: 'def add(a, b):', raw: true, options: { num_predict: 16 } });
    const long = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    const cut = await client.completions.create({ model: 'mana/code', prompt: long });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.choices[0]?.text).toBe(tokenize(fresh('qwen2.5-coder:7b', long)).slice(0, 16).join(''));
  });

  it('fills in the middle with suffix on a model that can; Ollama’s own 400 on one that cannot', async () => {
    const fim = await client.completions.create({ model: 'mana/code', prompt: 'def add(a, b):\n    ', suffix: '\n    return c', max_tokens: 64 });
    expect(fim.choices[0]?.text).toBe(fresh('qwen2.5-coder:7b', 'def add(a, b):\n    ', '\n    return c'));
    expect(lastGenerate()).toMatchObject({ suffix: '\n    return c' });
    expect(lastGenerate().raw).toBeUndefined();
    await expect(client.completions.create({ model: 'mana/text', prompt: 'x', suffix: 'y' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('does not support insert'),
    });
  });

  it('streams text chunks, then a finish chunk and [DONE]', async () => {
    const stream = await client.completions.create({ model: 'mana/code', prompt: 'stream this completion', stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(fresh('qwen2.5-coder:7b', 'stream this completion'));
    expect(finish).toBe('stop');
  });

  it('answers a list of prompts with one choice each', async () => {
    const completion = await client.completions.create({ model: 'mana/code', prompt: ['first', 'second'] });
    expect(completion.choices.map((c) => [c.index, c.text])).toEqual([
      [0, fresh('qwen2.5-coder:7b', 'first')],
      [1, fresh('qwen2.5-coder:7b', 'second')],
    ]);
  });

  it('falls over to a provider’s completions API when the GPU fails', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 1 });
    const completion = await client.completions.create({ model: 'mana/code', prompt: 'fall over' });
    expect(completion.model).toBe('together/meta-llama/Llama-3.3-70B-Instruct-Turbo');
    expect(completion.choices[0]?.text).toBe(fresh('meta-llama/Llama-3.3-70B-Instruct-Turbo', 'fall over'));
  });

  it('a model with no target that has a completions API is a 400 naming it; token arrays are a 400 saying why', async () => {
    await expect(client.completions.create({ model: 'mana/chat-only', prompt: 'x' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('has no target with a text-completion API'),
    });
    await expect(client.completions.create({ model: 'mana/code', prompt: [[1, 2, 3]] as unknown as string[] })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('token arrays are not supported'),
    });
  });
});

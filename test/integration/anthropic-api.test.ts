import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';
import { AGENT_ALIASES } from './agent-aliases.js';

/** Anthropic's Messages API through the real @anthropic-ai/sdk: create, stream, tools, on a GPU, on Gemini and across a fallback. */
let stack: Stack;
let client: Anthropic;

beforeAll(async () => {
  stack = await startStack({
    aliasesYaml: AGENT_ALIASES,
    ollama: { perTokenMs: 2 },
    env: { MANA_API_KEYS: 'team-a:sk-team-a-0123456789', MANA_ADMIN_KEY: 'admin-key-0123456789abcdef' },
  });
  client = new Anthropic({ baseURL: stack.api.url, apiKey: 'sk-team-a-0123456789', maxRetries: 0 });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  stack.gpus[0]!.faults.clear();
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

const fresh = (model: string, text: string, toolResult?: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false, toolResult });
const WEATHER = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

describe('POST /v1/messages', () => {
  it.each([
    ['a GPU', 'mana/agent-gpu', 'qwen3:8b', 'ollama/qwen3:8b'],
    ['Gemini', 'mana/agent-gemini', 'gemini-2.0-flash', 'google/gemini-2.0-flash'],
  ])('create on %s: system, multi-turn, a text block, end_turn, usage', async (_name, model, served, named) => {
    const message = await client.messages.create({
      model,
      max_tokens: 200,
      system: 'be brief',
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'second turn' }] },
      ],
    });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: named, stop_reason: 'end_turn', content: [{ type: 'text', text: fresh(served, 'second turn') }] });
    expect(message.id).toMatch(/^msg_/);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    // The x-api-key was the Mana key: the job is its tenant's.
    const job = (await stack.jobs()).find((j) => message.id === `msg_${j.id.replace(/^job_/, '')}`);
    expect(job?.tenant).toBe('team-a');
  });

  it('streams Anthropic’s event sequence, and the SDK assembles the message', async () => {
    const stream = client.messages.stream({ model: 'mana/agent-gpu', max_tokens: 200, messages: [{ role: 'user', content: 'stream to anthropic' }] });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: fresh('qwen3:8b', 'stream to anthropic'), citations: null }].map(({ citations: _c, ...b }) => expect.objectContaining(b)));
    expect(types[0]).toBe('message_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(1);
    expect(final.stop_reason).toBe('end_turn');
  });

  it.each([
    ['a GPU', 'mana/agent-gpu'],
    ['Gemini', 'mana/agent-gemini'],
  ])('tools on %s: tool_use, then tool_result, then the answer with its result', async (_name, model) => {
    const question = 'get_weather for Tromso';
    const first = await client.messages.create({ model, max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user', content: question }] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: question } });
    const second = await client.messages.create({
      model,
      max_tokens: 200,
      tools: [WEATHER],
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as { id: string }).id, content: 'northern lights' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    const text = (second.content[0] as { text: string }).text;
    expect(text).toContain(question);
    expect(text).toContain('northern lights');
  });

  it('streamed tool use: a tool_use block with its input as input_json_delta', async () => {
    const final = await client.messages
      .stream({ model: 'mana/agent-gemini', max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user', content: 'get_weather Oslo' }] })
      .finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { city: 'get_weather Oslo' } })]);
    expect(final.stop_reason).toBe('tool_use');
  });

  it('across a fallback: the GPU fails, Gemini answers as an Anthropic message', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 1 });
    const message = await client.messages.create({ model: 'mana/agent-gpu', max_tokens: 100, messages: [{ role: 'user', content: 'fall back' }] });
    expect(message.model).toBe('google/gemini-2.0-flash');
    expect((message.content[0] as { text: string }).text).toBe(fresh('gemini-2.0-flash', 'fall back'));
  });

  it('count_tokens estimates the prompt', async () => {
    const counted = await client.messages.countTokens({ model: 'mana/agent-gpu', messages: [{ role: 'user', content: 'count these few words please' }] });
    expect(counted.input_tokens).toBeGreaterThan(5);
  });

  it('errors come in Anthropic’s shape, mapped to the SDK’s error classes; x-api-key is the Mana key', async () => {
    const missing = await client.messages.create({ model: 'mana/agent-gpu', messages: [{ role: 'user', content: 'x' }] } as never).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect((missing as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
    const stranger = new Anthropic({ baseURL: stack.api.url, apiKey: 'sk-wrong-key-000000000', maxRetries: 0 });
    await expect(stranger.messages.create({ model: 'mana/agent-gpu', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
    const unknown = await client.messages.create({ model: 'mana/nope', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
  });
});

import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';
import { AGENT_ALIASES } from './agent-aliases.js';

/** OpenAI's Responses API through the official client, on a GPU and on Gemini, across a fallback, in the background. */
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ aliasesYaml: AGENT_ALIASES, ollama: { perTokenMs: 5 } });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  stack.gpus[0]!.faults.clear();
  // A test's GPU failure marks it down until its probe is good again: each test starts from a served GPU.
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

const fresh = (model: string, text: string, toolResult?: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false, toolResult });
const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather',
  strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('POST /v1/responses', () => {
  it.each([
    ['a GPU', 'mana/agent-gpu', 'qwen3:8b'],
    ['Gemini', 'mana/agent-gemini', 'gemini-2.0-flash'],
  ])('on %s: a string input, instructions, output_text and usage', async (_name, model, served) => {
    const response = await client.responses.create({ model, input: 'hello responses', instructions: 'be brief' });
    expect(response).toMatchObject({ object: 'response', status: 'completed', error: null, instructions: 'be brief' });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(fresh(served, 'hello responses'));
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
  });

  it('input items with content parts, and text.format json_schema', async () => {
    const response = await client.responses.create({
      model: 'mana/agent-gemini',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'as json' }] }],
      text: { format: { type: 'json_schema', name: 'echo', schema: { type: 'object', properties: { echo: { type: 'string' } } } } },
    });
    expect(JSON.parse(response.output_text)).toMatchObject({ echo: 'as json' });
  });

  it('streams the Responses events in order, and the SDK assembles the same response', async () => {
    const stream = client.responses.stream({ model: 'mana/agent-gpu', input: 'stream me please' });
    const types: string[] = [];
    const sequence: number[] = [];
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
    }
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(fresh('qwen3:8b', 'stream me please'));
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(sequence).toEqual(sequence.map((_, i) => i));
  });

  it('function calls, then previous_response_id with the function_call_output: the model answers with the tool’s result', async () => {
    for (const model of ['mana/agent-gpu', 'mana/agent-gemini']) {
      const first = await client.responses.create({ model, input: 'use get_weather for Lima', tools: [WEATHER] });
      const call = first.output.find((o) => o.type === 'function_call');
      expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: JSON.stringify({ city: 'use get_weather for Lima' }) });
      const second = await client.responses.create({
        model,
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: 'rainy' }],
        tools: [WEATHER],
      });
      expect(second.previous_response_id).toBe(first.id);
      expect(second.output_text).toContain('use get_weather for Lima');
      expect(second.output_text).toContain('rainy');
    }
  });

  it('across a fallback: the GPU fails, Gemini answers in the same shape', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 1 });
    const response = await client.responses.create({ model: 'mana/agent-gpu', input: 'fall over' });
    expect(response.model).toBe('google/gemini-2.0-flash');
    expect(response.output_text).toBe(fresh('gemini-2.0-flash', 'fall over'));
  });

  it('says clearly what it does not support, naming the field', async () => {
    await expect(client.responses.create({ model: 'mana/agent-gemini', input: 'x', tools: [{ type: 'web_search' }] })).rejects.toMatchObject({
      status: 400,
      param: 'tools.0.type',
    });
    await expect(client.responses.create({ model: 'mana/agent-gemini', input: 'x', include: ['message.output_text.logprobs'] })).rejects.toMatchObject({ status: 400 });
    await expect(client.responses.create({ model: 'mana/agent-gemini', input: 'x', previous_response_id: 'resp_00000000000000000000000000000000' })).rejects.toMatchObject({
      status: 400,
      param: 'previous_response_id',
    });
  });
});

describe('background responses', () => {
  it('are durable jobs: queued at once, read back by id, streamed again from any sequence number', async () => {
    const created = await client.responses.create({ model: 'mana/agent-gpu', input: 'in the background', background: true });
    expect(created.status).toBe('queued');
    await expect.poll(async () => (await client.responses.retrieve(created.id)).status).toBe('completed');
    const done = await client.responses.retrieve(created.id);
    expect(done.output_text).toBe(fresh('qwen3:8b', 'in the background'));

    const replay = async (startingAfter?: number) => {
      const events: Array<{ type: string; sequence_number: number }> = [];
      const stream = await client.responses.retrieve(created.id, { stream: true, ...(startingAfter !== undefined ? { starting_after: startingAfter } : {}) });
      for await (const event of stream) events.push(event);
      return events;
    };
    const all = await replay();
    expect(all.at(-1)?.type).toBe('response.completed');
    const rest = await replay(3);
    expect(rest).toEqual(all.slice(4));
  });

  it('can be cancelled while they wait or run', async () => {
    const slow = await client.responses.create({ model: 'mana/agent-gpu', input: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), background: true });
    const cancelled = await client.responses.cancel(slow.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await client.responses.retrieve(slow.id)).status).toBe('cancelled');
  });
});

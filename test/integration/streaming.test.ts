import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { continuationText, replyText, tokenize } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ gpus: 1 });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  await stack.gpus[0]!.up();
  stack.gpus[0]!.reset();
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

const reply = (model: string, text: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false });

async function streamText(text: string): Promise<{ deltas: string[]; error?: unknown }> {
  const deltas: string[] = [];
  try {
    const stream = await client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: text }], stream: true });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
    return { deltas };
  } catch (error) {
    return { deltas, error };
  }
}

describe('streaming through failures', () => {
  it('hides a fallback that happens before the first token', async () => {
    stack.gpus[0]!.faults.add({ mode: 'drop-stream', afterChunks: 0, times: 1 });
    const { deltas, error } = await streamText('alpha beta gamma');
    expect(error).toBeUndefined();
    expect(deltas.join('')).toBe(reply('gemini-2.0-flash', 'alpha beta gamma'));
  });

  it('a GPU stream cut after its first tokens is continued by the fallback: the partial answer, then the continuation, once each', async () => {
    stack.gpus[0]!.faults.add({ mode: 'drop-stream', afterChunks: 3, times: 1 });
    const { deltas, error } = await streamText('alpha beta gamma delta');
    const partial = tokenize(reply('gemma3:4b', 'alpha beta gamma delta')).slice(0, 3).join('');
    expect(error).toBeUndefined();
    expect(deltas.join('')).toBe(partial + continuationText('gemini-2.0-flash'));
    await expect.poll(async () => (await stack.jobs()).at(-1)?.status).toBe('succeeded');
    const job = (await stack.jobs()).at(-1)!;
    expect(job.hops.map((h) => [h.target, h.status, h.continues])).toEqual([
      ['ollama/gemma3:4b', 'failed', undefined],
      ['google/gemini-2.0-flash', 'succeeded', partial.length],
    ]);
    // Gemini was asked to go on from the GPU's words, as a final model turn.
    const asked = stack.gemini.stats.snapshot().recent.at(-1)?.body as { contents: Array<{ role: string; parts: Array<{ text: string }> }> };
    expect(asked.contents.at(-1)).toEqual({ role: 'model', parts: [{ text: partial }] });
  });

  it("the provider's own mid-stream error: the fallback goes on from the text sent (here Gemini's own answer begins the same way)", async () => {
    stack.gpus[0]!.faults.add({ mode: 'stream-error', afterChunks: 1, times: 1 });
    const { deltas, error } = await streamText('one two three');
    expect(error).toBeUndefined();
    expect(deltas[0]).toBe('Echo ');
    expect(deltas.join('')).toBe(reply('gemini-2.0-flash', 'one two three'));
  });
});

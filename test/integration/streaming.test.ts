import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
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

  it('ends the stream with an error chunk when the model fails after the first token', async () => {
    stack.gpus[0]!.faults.add({ mode: 'drop-stream', afterChunks: 2, times: 1 });
    const geminiBefore = stack.gemini.stats.snapshot().total;
    const { deltas, error } = await streamText('alpha beta gamma delta');
    expect(deltas.join('')).toBe(reply('gemma3:4b', 'alpha beta gamma delta').split(' ').slice(0, 2).join(' ') + ' ');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain('partial answer');
    // The client holds half an answer: the job fails there, and no other target is asked to start over.
    await expect.poll(async () => (await stack.jobs()).at(-1)?.status).toBe('failed');
    const job = (await stack.jobs()).at(-1)!;
    expect(job.hops.map((h) => h.target)).toEqual(['ollama/gemma3:4b']);
    expect(job.error?.message).toContain('partial answer cannot be continued');
    expect(stack.gemini.stats.snapshot().total).toBe(geminiBefore);
  });

  it("ends the stream with an error chunk on the provider's own mid-stream error", async () => {
    stack.gpus[0]!.faults.add({ mode: 'stream-error', afterChunks: 1, times: 1 });
    const { deltas, error } = await streamText('one two three');
    expect(deltas).toHaveLength(1);
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });
});

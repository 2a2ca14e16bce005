import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

/**
 * Prompts longer than a model's context: a provider's "context length
 * exceeded" 400 moves the job on (to a `long_context` target where the chain
 * has one), and a GPU model whose declared context the prompt would overrun
 * is skipped before it is asked (Ollama would silently cut the prompt).
 */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ALIASES = `version: 1
default: mana/long
models:
  groq/llama-3.3-70b-versatile: { kind: chat }
  openrouter/deepseek/deepseek-r1: { kind: chat }
  google/gemini-2.0-flash: { kind: chat, capabilities: [long_context] }
  ollama/gemma3:4b: { kind: chat, context: 200 }
aliases:
  mana/long:
    chain: [groq/llama-3.3-70b-versatile, openrouter/deepseek/deepseek-r1, google/gemini-2.0-flash]
  mana/gpu:
    chain: [ollama/gemma3:4b, google/gemini-2.0-flash]
  mana/only-groq:
    chain: [groq/llama-3.3-70b-versatile]
  mana/gemini-then-groq:
    chain: [google/gemini-2.0-flash, groq/llama-3.3-70b-versatile]
`;

async function start(): Promise<Stack> {
  stack = await startStack({
    aliasesYaml: ALIASES,
    // The emulated models' real limits, small enough to pass in a test.
    openai: {
      models: {
        groq: [{ name: 'llama-3.3-70b-versatile', kind: 'chat', contextTokens: 50 }],
        openrouter: [{ name: 'deepseek/deepseek-r1', kind: 'chat' }],
        together: [],
      },
    },
    gemini: { models: [{ name: 'gemini-2.0-flash', kind: 'chat', contextTokens: 80 }] },
  });
  return stack;
}

const client = (s: Stack) => new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 });
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const fresh = (model: string, text: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false });
const ask = (s: Stack, model: string, text: string) => client(s).chat.completions.create({ model, messages: [{ role: 'user', content: text }] });

describe('prompts longer than a model takes', () => {
  it("a provider's context-length 400 moves on, past targets without long_context, to one that has it", async () => {
    const s = await start();
    const prompt = words(60); // past Groq's 50, within Gemini's 80
    const answer = await ask(s, 'mana/long', prompt);
    expect(answer.choices[0]?.message.content).toBe(fresh('gemini-2.0-flash', prompt));
    const seen = s.openai.stats.snapshot().requests;
    expect(seen['/groq/v1/chat/completions llama-3.3-70b-versatile']).toBe(1);
    expect(seen['/openrouter/v1/chat/completions deepseek/deepseek-r1'] ?? 0).toBe(0);
    const [job] = await s.jobs();
    expect(job?.hops.map((h) => [h.target, h.status, h.error?.code])).toEqual([
      ['groq/llama-3.3-70b-versatile', 'failed', 'context_length_exceeded'],
      ['openrouter/deepseek/deepseek-r1', 'skipped', 'provider_unavailable'],
      ['google/gemini-2.0-flash', 'succeeded', undefined],
    ]);
    expect(job?.hops[0]?.error?.message).toContain("This model's maximum context length is 50 tokens");
    expect(job?.hops[1]?.error?.message).toContain('an earlier target found the prompt too long, and a later one has long_context');
  });

  it("Gemini's own wording is recognised too", async () => {
    const s = await start();
    const prompt = words(90);
    await expect(ask(s, 'mana/gemini-then-groq', prompt)).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded' });
    const [job] = await s.jobs();
    expect(job?.hops.map((h) => h.error?.code)).toEqual(['context_length_exceeded', 'context_length_exceeded']);
    expect(job?.hops[0]?.error?.message).toContain('The input token count (90) exceeds the maximum number of tokens allowed (80)');
  });

  it('with nowhere else to go, the client gets 400 context_length_exceeded with the provider’s words', async () => {
    const s = await start();
    const error = (await ask(s, 'mana/only-groq', words(60)).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toContain('maximum context length is 50 tokens');
  });

  it('a GPU model is skipped, unasked, when the prompt is estimated past its declared context; a short prompt stays on the GPU', async () => {
    const s = await start();
    const long = words(200); // ≈ 1,000 characters ≈ 250 tokens > 200
    const answer = await ask(s, 'mana/gpu', long.slice(0, 300)); // ≈ 80 tokens: fits Gemini as well
    expect(answer.choices[0]?.message.content).toBe(fresh('gemma3:4b', long.slice(0, 300)));
    const chats = () => s.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b'] ?? 0; // chat calls only: probes go on meanwhile
    const gpuBefore = chats();
    await expect(ask(s, 'mana/gpu', long)).rejects.toMatchObject({ status: 400 }); // Gemini, asked next, finds it past its 80 too
    expect(chats()).toBe(gpuBefore);
    const job = (await s.jobs()).at(-1);
    expect(job?.hops.map((h) => [h.target, h.status])).toEqual([
      ['ollama/gemma3:4b', 'skipped'],
      ['google/gemini-2.0-flash', 'failed'],
    ]);
    expect(job?.hops[0]?.error?.message).toMatch(/the prompt is estimated at \d+ tokens, over the model's context of 200/);
  });
});

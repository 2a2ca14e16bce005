import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Stack, startStack } from '@mana/testing';
import { AGENT_ALIASES } from './agent-aliases.js';

/**
 * An agent framework end to end: the Vercel AI SDK (`ai` + `@ai-sdk/openai`)
 * running a tool loop through Mana, over the Responses API (`openai(id)`,
 * the SDK's default) and chat completions (`openai.chat(id)`), on a GPU, on
 * Gemini and across a fallback.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ aliasesYaml: AGENT_ALIASES });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  stack.gpus[0]!.faults.clear();
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

function weatherTool(calls: string[]) {
  return tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return { city, sky: 'clear' };
    },
  });
}

const openai = () => createOpenAI({ baseURL: stack.baseURL, apiKey: 'unused' });

describe('the AI SDK’s tool loop through Mana', () => {
  it.each([
    ['Responses API, on a GPU', 'responses', 'mana/agent-gpu'],
    ['Responses API, on Gemini', 'responses', 'mana/agent-gemini'],
    ['chat completions, on a GPU', 'chat', 'mana/agent-gpu'],
    ['chat completions, on Gemini', 'chat', 'mana/agent-gemini'],
  ] as const)('generateText with tools: %s', async (_name, api, model) => {
    const calls: string[] = [];
    const provider = openai();
    const result = await generateText({
      model: api === 'chat' ? provider.chat(model) : provider(model),
      prompt: 'what does weather say for Quito',
      tools: { weather: weatherTool(calls) },
      stopWhen: stepCountIs(3),
    });
    // Step one called the tool, which ran here; step two answered with its result.
    expect(calls).toEqual(['what does weather say for Quito']);
    expect(result.steps.length).toBe(2);
    expect(result.steps[0]?.toolCalls.map((c) => c.toolName)).toEqual(['weather']);
    expect(result.text).toContain('what does weather say for Quito');
    expect(result.text).toContain('clear');
    expect(result.finishReason).toBe('stop');
  });

  it('across a fallback: the GPU fails mid-loop, Gemini takes the tool history on', async () => {
    const calls: string[] = [];
    let step = 0;
    const result = await generateText({
      model: openai()('mana/agent-gpu'),
      prompt: 'ask weather about Cusco',
      tools: { weather: weatherTool(calls) },
      stopWhen: stepCountIs(3),
      // After the first step (answered by the GPU) the GPU fails once: the second step falls over.
      onStepFinish: () => {
        if (step++ === 0) stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 1 });
      },
    });
    expect(calls).toEqual(['ask weather about Cusco']);
    expect(result.text).toContain('Echo from gemini-2.0-flash');
    expect(result.text).toContain('clear');
  });

  it('streamText streams the answer text', async () => {
    const result = streamText({ model: openai()('mana/agent-gpu'), prompt: 'stream through the sdk' });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe('Echo from qwen3:8b: stream through the sdk');
  });
});

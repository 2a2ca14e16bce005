import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

/** Upstreams that hang, start slowly or stall, behind an alias with a healthy fallback, streamed through the openai client. */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ALIASES = `version: 1
default: mana/silent
models:
  openrouter/deepseek/deepseek-r1: { kind: chat }
  groq/llama-3.3-70b-versatile: { kind: chat }
aliases:
  mana/silent:
    chain: [openrouter/deepseek/deepseek-r1, groq/llama-3.3-70b-versatile]
  mana/alone:
    chain: [openrouter/deepseek/deepseek-r1]
`;

async function start(): Promise<Stack> {
  stack = await startStack({ aliasesYaml: ALIASES, env: { MANA_CLOUD_FIRST_TOKEN_TIMEOUT_MS: '800', MANA_STREAM_IDLE_TIMEOUT_MS: '800' } });
  return stack;
}

const OPENROUTER = '/openrouter/v1/chat/completions deepseek/deepseek-r1';
const seen = (s: Stack, key: string) => s.openai.stats.snapshot().requests[key] ?? 0;

async function stream(s: Stack, text: string, model = 'mana/silent') {
  const started = performance.now();
  const client = new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: text }] }).withResponse();
  let content = '';
  let error: unknown;
  try {
    for await (const chunk of data) content += chunk.choices[0]?.delta.content ?? '';
  } catch (err) {
    error = err;
  }
  return { content, error, provider: response.headers.get('x-mana-provider'), seconds: (performance.now() - started) / 1000 };
}

describe('upstreams that go quiet', () => {
  it('no response at all: the first-token deadline (not the 5 s hop deadline) moves the stream to the fallback, invisibly', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'hang', route: '/openrouter/' });
    const answer = await stream(s, 'are you there');
    expect(answer.error).toBeUndefined();
    expect(answer.content.length).toBeGreaterThan(0);
    expect(answer.seconds).toBeGreaterThan(0.7);
    expect(answer.seconds).toBeLessThan(3);
    expect(seen(s, OPENROUTER)).toBe(1);
    const [job] = await s.jobs();
    expect(job?.hops.map((h) => [h.target, h.status])).toEqual([
      ['openrouter/deepseek/deepseek-r1', 'failed'],
      ['groq/llama-3.3-70b-versatile', 'succeeded'],
    ]);
    expect(job?.hops[0]?.error?.message).toContain('sent no first token within 800 ms');
  });

  it('no response at all to a request that wants its answer whole (stream: false): the same first-token deadline, then the fallback', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'hang', route: '/openrouter/' });
    const started = performance.now();
    const client = new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'mana/silent', messages: [{ role: 'user', content: 'whole please' }] }).withResponse();
    const seconds = (performance.now() - started) / 1000;
    expect(response.headers.get('x-mana-provider')).toBe('groq');
    expect(data.choices[0]?.message.content).toContain('whole please');
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(seconds).toBeGreaterThan(0.7);
    expect(seconds).toBeLessThan(3);
    expect(seen(s, OPENROUTER)).toBe(1);
  });

  it('a slow first token (4 s) fails over the same way', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'slow', delayMs: 4_000, route: '/openrouter/' });
    const answer = await stream(s, 'slowly');
    expect(answer.error).toBeUndefined();
    expect(answer.seconds).toBeLessThan(3);
    const [job] = await s.jobs();
    expect(job?.hops.at(-1)?.target).toBe('groq/llama-3.3-70b-versatile');
  });

  // With a fallback, the stalled answer is continued there (stream-continuation.test.ts).
  it('a stream that stalls after its first tokens, with no target left to continue it, ends within the idle deadline with an error, not a truncated answer that looks complete', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'stall-stream', afterChunks: 2, route: '/openrouter/' });
    const answer = await stream(s, 'stall a b c d e f', 'mana/alone');
    expect(answer.content.length).toBeGreaterThan(0);
    expect(answer.error).toBeDefined();
    expect(answer.seconds).toBeLessThan(3);
    const [job] = await s.jobs();
    expect(job?.status).toBe('failed');
    expect(job?.hops[0]?.error?.message).toContain('stalled: no chunk for 800 ms');
  });
});

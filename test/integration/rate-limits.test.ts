import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

/** A provider that answers 429, behind an alias with a healthy fallback, as a client meets it. */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ALIASES = `version: 1
default: mana/throttled
models:
  openrouter/deepseek/deepseek-r1: { kind: chat }
  groq/llama-3.3-70b-versatile: { kind: chat }
  google/gemini-2.0-flash: { kind: chat }
aliases:
  mana/throttled:
    chain: [openrouter/deepseek/deepseek-r1, groq/llama-3.3-70b-versatile]
  mana/gemini-first:
    chain: [google/gemini-2.0-flash, groq/llama-3.3-70b-versatile]
`;

async function start(): Promise<Stack> {
  stack = await startStack({ aliasesYaml: ALIASES });
  return stack;
}

const OPENROUTER = '/openrouter/v1/chat/completions deepseek/deepseek-r1';
const GROQ = '/groq/v1/chat/completions llama-3.3-70b-versatile';
const seen = (s: Stack, key: string) => s.openai.stats.snapshot().requests[key] ?? 0;

async function ask(s: Stack, model: string, text: string) {
  const started = performance.now();
  const { data, response } = await new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions
    .create({ model, messages: [{ role: 'user', content: text }] })
    .withResponse();
  return { content: data.choices[0]?.message.content ?? '', provider: response.headers.get('x-mana-provider'), seconds: (performance.now() - started) / 1000 };
}

describe('a provider that rate-limits', () => {
  it('429 without Retry-After, persistently: three tries spaced by a short backoff, then the fallback answers within seconds', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'error', status: 429, route: '/openrouter/' });
    const answer = await ask(s, 'mana/throttled', 'rate limited');
    expect(answer.provider).toBe('groq');
    expect(answer.content.length).toBeGreaterThan(0);
    expect(seen(s, OPENROUTER)).toBe(3);
    expect(seen(s, GROQ)).toBe(1);
    // 0.5 s and 1 s of backoff, each × 0.5–1.5: between 0.75 and 2.25 s, plus the calls.
    expect(answer.seconds).toBeGreaterThan(0.7);
    expect(answer.seconds).toBeLessThan(5);
    const [job] = await s.jobs();
    expect(job?.hops.map((h) => [h.target, h.status, h.retries ?? 0])).toEqual([
      ['openrouter/deepseek/deepseek-r1', 'failed', 2],
      ['groq/llama-3.3-70b-versatile', 'succeeded', 0],
    ]);
  });

  it('429 with Retry-After: the wait asked is honoured on the same target; meanwhile other jobs that can move go to the fallback', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'error', status: 429, route: '/openrouter/', retryAfterS: 1, times: 1 });
    const first = ask(s, 'mana/throttled', 'wait as asked');
    await expect.poll(() => seen(s, OPENROUTER)).toBe(1);
    // While OpenRouter throttles us, a new job skips it.
    const second = await ask(s, 'mana/throttled', 'meanwhile');
    expect(second.provider).toBe('groq');
    const answer = await first;
    expect(answer.provider).toBe('openrouter');
    expect(answer.seconds).toBeGreaterThanOrEqual(0.95);
    expect(answer.seconds).toBeLessThan(4);
    expect(seen(s, OPENROUTER)).toBe(2);
  });

  it("Gemini's 429 RetryInfo is read: asked to wait 10 s, the job moves to the fallback at once, and so do the next ones", async () => {
    const s = await start();
    s.gemini.faults.add({ mode: 'error', status: 429, message: 'Resource has been exhausted (e.g. check quota).', retryAfterS: 10 });
    const answer = await ask(s, 'mana/gemini-first', 'quota');
    expect(answer.provider).toBe('groq');
    expect(answer.seconds).toBeLessThan(3);
    expect(s.gemini.stats.snapshot().total).toBe(1);
    const next = await ask(s, 'mana/gemini-first', 'still throttled');
    expect(next.provider).toBe('groq');
    expect(s.gemini.stats.snapshot().total).toBe(1);
    const [job] = await s.jobs();
    expect(job?.hops[0]?.error?.message).toContain('429');
  });
});

describe('a provider that fails once', () => {
  it('a 500, then healthy: one quick retry on the same target answers; the fallback is not asked', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'error', status: 500, route: '/openrouter/', times: 1 });
    const answer = await ask(s, 'mana/throttled', 'momentary');
    expect(answer.provider).toBe('openrouter');
    expect(seen(s, OPENROUTER)).toBe(2);
    expect(seen(s, GROQ)).toBe(0);
    expect(answer.seconds).toBeLessThan(3);
  });

  it('a connection reset, then healthy: the same quick retry answers', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'reset', route: '/openrouter/', times: 1 });
    const answer = await ask(s, 'mana/throttled', 'reset once');
    expect(answer.provider).toBe('openrouter');
    expect(seen(s, OPENROUTER)).toBe(2);
    expect(seen(s, GROQ)).toBe(0);
    const [job] = await s.jobs();
    expect(job?.hops.map((h) => [h.status, h.retries, h.error?.message])).toEqual([['succeeded', 1, expect.stringContaining('UND_ERR_SOCKET')]]);
  });

  it("OpenRouter's HTTP-200 error body: never an empty answer, the fallback answers", async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'error-200', status: 502, message: 'upstream overloaded', route: '/openrouter/' });
    const answer = await ask(s, 'mana/throttled', 'error in a 200');
    expect(answer.provider).toBe('groq');
    expect(answer.content).toContain('error in a 200');
  });

  it('a 500 every time: the quick retry, then the fallback', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'error', status: 500, route: '/openrouter/' });
    const answer = await ask(s, 'mana/throttled', 'broken');
    expect(answer.provider).toBe('groq');
    expect(seen(s, OPENROUTER)).toBe(2);
    expect(seen(s, GROQ)).toBe(1);
  });
});

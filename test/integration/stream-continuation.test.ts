import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { continuationText, replyText, tokenize } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

/**
 * A stream cut (or stalled) after its first tokens is continued by the next
 * target: the client's text is the partial answer and the continuation,
 * each exactly once, through the official openai client.
 */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ALIASES = `version: 1
default: mana/cut
models:
  openrouter/deepseek/deepseek-r1: { kind: chat }
  groq/llama-3.3-70b-versatile: { kind: chat }
  google/gemini-3.5-flash-lite: { kind: chat }
  google/gemini-2.0-flash: { kind: chat }
  ollama/gemma3:4b: { kind: chat }
aliases:
  mana/cut:
    chain: [openrouter/deepseek/deepseek-r1, groq/llama-3.3-70b-versatile]
  mana/no-prefill:
    chain: [openrouter/deepseek/deepseek-r1, google/gemini-3.5-flash-lite]
  mana/gemini-first:
    chain: [google/gemini-2.0-flash, groq/llama-3.3-70b-versatile]
  mana/gpu-first:
    chain: [ollama/gemma3:4b, groq/llama-3.3-70b-versatile]
`;

async function start(): Promise<Stack> {
  stack = await startStack({
    aliasesYaml: ALIASES,
    env: { MANA_STREAM_IDLE_TIMEOUT_MS: '800' },
    // Gemini 3.5 Flash-Lite refuses a request that ends with a model turn, as the real one does.
    gemini: {
      models: [
        { name: 'gemini-3.5-flash-lite', kind: 'chat', rejectsPrefill: true },
        { name: 'gemini-2.0-flash', kind: 'chat' },
      ],
    },
  });
  return stack;
}

const OPENROUTER = '/openrouter/v1/chat/completions deepseek/deepseek-r1';
const GROQ = '/groq/v1/chat/completions llama-3.3-70b-versatile';
const fresh = (model: string, text: string) => replyText({ model, lastUserText: text, images: 0, promptWords: 0, json: false });
/** The first `n` tokens of a model's answer: what a stream cut after `n` chunks delivered. */
const firstTokens = (model: string, text: string, n: number) => tokenize(fresh(model, text)).slice(0, n).join('');

async function stream(s: Stack, model: string, text: string) {
  const started = performance.now();
  const client = new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 });
  const data = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: text }] });
  let content = '';
  let finish: string | null | undefined;
  let error: unknown;
  try {
    for await (const chunk of data) {
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
  } catch (err) {
    error = err;
  }
  return { content, finish, error, seconds: (performance.now() - started) / 1000 };
}

/** The messages the emulator last received on a route. */
function lastMessages(s: Stack, route: string): Array<{ role: string; content: string }> {
  const request = s.openai.stats
    .snapshot()
    .recent.filter((r) => r.path.startsWith(route))
    .at(-1);
  return (request?.body as { messages: Array<{ role: string; content: string }> }).messages;
}

describe('a stream cut after its first tokens is continued by the next target', () => {
  it('cut connection: the fallback continues from the text sent, which the client gets once, then the rest', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'drop-stream', afterChunks: 3, route: '/openrouter/' });
    const text = 'tell me about continuations';
    const answer = await stream(s, 'mana/cut', text);
    const partial = firstTokens('deepseek/deepseek-r1', text, 3);
    expect(answer.error).toBeUndefined();
    expect(answer.finish).toBe('stop');
    expect(answer.content).toBe(partial + continuationText('llama-3.3-70b-versatile'));
    // Groq was asked once, with the partial answer as the assistant's own words to go on from.
    const stats = s.openai.stats.snapshot().requests;
    expect([stats[OPENROUTER], stats[GROQ]]).toEqual([1, 1]);
    expect(lastMessages(s, '/groq/').at(-1)).toEqual({ role: 'assistant', content: partial });
    const [job] = await s.jobs();
    expect(job?.status).toBe('succeeded');
    expect((job?.result as { content: string }).content).toBe(answer.content);
    expect(job?.hops.map((h) => [h.target, h.status, h.continues])).toEqual([
      ['openrouter/deepseek/deepseek-r1', 'failed', undefined],
      ['groq/llama-3.3-70b-versatile', 'succeeded', partial.length],
    ]);
  });

  it('a stream that stalls mid-answer is continued once the idle deadline passes', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'stall-stream', afterChunks: 3, route: '/openrouter/' });
    const text = 'stall a b c d e f';
    const answer = await stream(s, 'mana/cut', text);
    expect(answer.error).toBeUndefined();
    expect(answer.content).toBe(firstTokens('deepseek/deepseek-r1', text, 3) + continuationText('llama-3.3-70b-versatile'));
    expect(answer.seconds).toBeGreaterThan(0.7);
    expect(answer.seconds).toBeLessThan(4);
    const [job] = await s.jobs();
    expect(job?.hops[0]?.error?.message).toContain('stalled: no chunk for 800 ms');
  });

  it('a fallback that refuses to continue ends the stream with a clear error, never a truncated answer that looks complete', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'drop-stream', afterChunks: 2, route: '/openrouter/' });
    const answer = await stream(s, 'mana/no-prefill', 'one two three four');
    expect(answer.content).toBe(firstTokens('deepseek/deepseek-r1', 'one two three four', 2));
    expect(answer.finish).toBeUndefined();
    expect(answer.error).toBeInstanceOf(OpenAI.APIError);
    expect((answer.error as Error).message).toContain('could not continue it');
    expect(s.gemini.stats.snapshot().total).toBe(1);
    const [job] = await s.jobs();
    expect(job?.status).toBe('failed');
    expect(job?.error?.message).toMatch(/cut after \d+ characters and google\/gemini-3\.5-flash-lite could not continue it \(.*model turn/);
  });

  it('the job API: a `restart` event that keeps the text so far, then the continuation, and the whole answer as the result', async () => {
    const s = await start();
    s.openai.faults.add({ mode: 'drop-stream', afterChunks: 3, route: '/openrouter/' });
    const headers = { 'content-type': 'application/json' };
    const body = JSON.stringify({ type: 'chat', request: { model: 'mana/cut', messages: [{ role: 'user', content: 'job api stream' }], stream: true } });
    const created = (await (await fetch(`${s.api.url}/v1/jobs`, { method: 'POST', headers, body })).json()) as { id: string };
    await expect.poll(async () => (await s.jobs())[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    const events = await (await fetch(`${s.api.url}/v1/jobs/${created.id}/events`)).text();
    const parsed = events
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { type: string; content?: string; kept?: number; continues?: boolean; result?: { content: string } });
    const partial = firstTokens('deepseek/deepseek-r1', 'job api stream', 3);
    const restart = parsed.find((e) => e.type === 'restart');
    expect(restart).toMatchObject({ continues: true, kept: partial.length });
    // Applying the events as documented (keep `kept` characters on a restart) gives the result, exactly.
    let text = '';
    for (const e of parsed) {
      if (e.type === 'delta') text += e.content;
      if (e.type === 'restart') text = e.continues ? text.slice(0, e.kept) : '';
    }
    const done = parsed.find((e) => e.type === 'done');
    expect(text).toBe(partial + continuationText('llama-3.3-70b-versatile'));
    expect(done?.result?.content).toBe(text);
  });
});

describe('one malformed event in a stream is skipped, logged and counted; the answer goes on', () => {
  const malformedCount = async (s: Stack, provider: string) => {
    const metrics = await (await fetch(`${s.api.url}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('mana_provider_errors_total') && l.includes(`provider="${provider}"`) && l.includes('code="malformed_chunk"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it.each([
    ['an OpenAI-compatible provider (SSE, the openai SDK)', 'mana/cut', 'openrouter', 'deepseek/deepseek-r1'],
    ['Gemini (SSE, @google/genai)', 'mana/gemini-first', 'google', 'gemini-2.0-flash'],
    ['a GPU server (NDJSON, the ollama SDK)', 'mana/gpu-first', 'ollama', 'gemma3:4b'],
  ])('%s', async (_name, alias, provider, model) => {
    const s = await start();
    const fault = { mode: 'malformed-chunk' as const, afterChunks: 2 };
    if (provider === 'openrouter') s.openai.faults.add({ ...fault, route: '/openrouter/' });
    if (provider === 'google') s.gemini.faults.add(fault);
    if (provider === 'ollama') s.gpus[0]!.faults.add(fault);
    const text = 'a garbled event in the middle';
    const answer = await stream(s, alias, text);
    expect(answer.error).toBeUndefined();
    expect(answer.content).toBe(fresh(model, text));
    // Nobody else was asked: the hop survived.
    expect(s.openai.stats.snapshot().requests[GROQ] ?? 0).toBe(0);
    const [job] = await s.jobs();
    expect(job?.hops.map((h) => h.status)).toEqual(['succeeded']);
    await expect.poll(() => malformedCount(s, provider)).toBe(1);
  });
});

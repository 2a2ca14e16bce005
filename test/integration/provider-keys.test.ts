import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

const ONE = 'gemini-key-one-0123456789';
const TWO = 'gemini-key-two-0123456789';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Two Gemini keys, each with its own quota at the emulated Gemini (as each project has), used in rotation. */
async function start(quotaPerMinute: number | undefined, env: Record<string, string> = {}): Promise<Stack> {
  stack = await startStack({ gpus: 1, gemini: { apiKey: ONE, apiKeys: [TWO], ...(quotaPerMinute ? { quotaPerMinute } : {}) }, env: { GOOGLE_API_KEY: `${ONE},${TWO}`, ...env } });
  return stack;
}

const ask = (s: Stack, text: string) =>
  new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: text }] });

/** Uses up a key's quota at the provider directly, as another application sharing the key would. */
async function exhaust(s: Stack, key: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await fetch(`${s.gemini.url}/v1beta/models/gemini-2.0-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': key },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'elsewhere' }] }] }),
    });
  }
}

describe('several API keys per cloud provider, in rotation', () => {
  it('rests a key that answers 429 on its own and serves with the other; the provider is not throttled', async () => {
    const s = await start(2);
    await exhaust(s, ONE, 2);
    const answers = [await ask(s, 'first'), await ask(s, 'second')];
    expect(answers.every((a) => a.model === 'google/gemini-2.0-flash')).toBe(true);
    // Key one was asked once (its 429), then rested; key two served both.
    expect(s.gemini.requestsByKey()).toEqual({ [ONE]: 3, [TWO]: 2 });
    expect((await s.pipeline.health.breaker('google')).throttledUntil).toBeUndefined();
  });

  it('rests a revoked key (400 API_KEY_INVALID) and goes on with the other, without marking the provider down', async () => {
    const s = await start(undefined);
    s.gemini.revokeKey(ONE);
    for (const text of ['a', 'b', 'c']) expect((await ask(s, text)).choices[0]?.message.content).toBeTruthy();
    expect(s.gemini.requestsByKey()[TWO]).toBe(3);
    expect(s.gemini.requestsByKey()[ONE] ?? 0).toBe(0);
    expect((await s.pipeline.health.breaker('google')).open).toBe(false);
  });

  it('keeps each key within its own quota (MANA_KEY_RPM): requests spread over the keys, and none is sent past them', async () => {
    const s = await start(undefined, { MANA_KEY_RPM: 'google:1' });
    await ask(s, 'one');
    await ask(s, 'two');
    expect(s.gemini.requestsByKey()).toEqual({ [ONE]: 1, [TWO]: 1 });
    // Both keys are at their quota for this minute: the third waits (the provider is throttled until the minute turns).
    const res = await fetch(`${s.baseURL}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'chat', request: { model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'three' }] } }),
    });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await s.pipeline.health.breaker('google')).throttledUntil, { timeout: 5_000 }).toBeGreaterThan(Date.now());
    expect(Object.values(s.gemini.requestsByKey()).reduce((a, b) => a + b, 0)).toBe(2);
  });
});

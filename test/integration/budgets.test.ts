import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

const A_KEY = 'budget-team-a-0123456789';
const B_KEY = 'budget-team-b-0123456789';
const ADMIN = 'budget-admin-key-0123456789';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(env: Record<string, string>): Promise<Stack> {
  // One slot and ~0.5 s answers (five words at 100 ms): a few requests at once overflow it, and interactive work spills after 100 ms.
  stack = await startStack({
    gpus: 1,
    maxConcurrent: 1,
    ollama: { perTokenMs: 100 },
    env: { MANA_API_KEYS: `team-a:${A_KEY},team-b:${B_KEY}`, MANA_ADMIN_KEY: ADMIN, MANA_MAX_WAIT_INTERACTIVE_MS: '100', ...env },
  });
  return stack;
}

const client = (s: Stack, key: string) => new OpenAI({ baseURL: s.baseURL, apiKey: key, maxRetries: 0 });

/** A direct cloud call, then waits until the ledger shows the tenant's budget spent. */
async function spendBudget(s: Stack): Promise<void> {
  await client(s, A_KEY).chat.completions.create({ model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'spend a little' }] });
  await expect
    .poll(
      async () => ((await (await fetch(`${s.baseURL}/usage`, { headers: { authorization: `Bearer ${A_KEY}` } })).json()) as { budget: { exhausted: boolean } }).budget.exhausted,
      {
        timeout: 10_000,
      },
    )
    .toBe(true);
}

const burst = (s: Stack, key: string, n: number) =>
  Promise.all(Array.from({ length: n }, (_, i) => client(s, key).chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: `burst ${i}` }] })));

describe('monthly cloud budgets (MANA_TENANT_BUDGET_USD)', () => {
  it('keeps a tenant whose budget is spent on the GPUs (waiting, no spill) and refuses its cloud-only model with 402; other tenants spill as usual', async () => {
    const s = await start({ MANA_TENANT_BUDGET_USD: 'team-a:0.000001' });
    await spendBudget(s);
    const before = s.gemini.stats.snapshot().total;
    const answers = await burst(s, A_KEY, 3);
    expect(answers.every((a) => a.model === 'ollama/gemma3:4b')).toBe(true);
    expect(s.gemini.stats.snapshot().total).toBe(before);

    const refused = await fetch(`${s.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${A_KEY}` },
      body: JSON.stringify({ model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'more' }] }),
    });
    expect(refused.status).toBe(402);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('budget_exhausted');
    expect(body.error.message).toContain('MANA_TENANT_BUDGET_USD');

    // team-b has no budget: the same burst overflows the one slot to Gemini.
    const theirs = await burst(s, B_KEY, 3);
    expect(theirs.some((a) => a.model.startsWith('google/'))).toBe(true);
    // The operator sees the spent budget.
    const admin = await (await fetch(`${s.api.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
    expect((admin as { budgets: Record<string, { exhausted: boolean }> }).budgets['team-a']?.exhausted).toBe(true);
  }, 60_000);

  it('refuses every job of a tenant whose budget is spent with MANA_BUDGET_EXHAUSTED=refuse', async () => {
    const s = await start({ MANA_TENANT_BUDGET_USD: 'team-a:0.000001', MANA_BUDGET_EXHAUSTED: 'refuse' });
    await spendBudget(s);
    const refused = await client(s, A_KEY)
      .chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'gpu please' }] })
      .catch((err: unknown) => err as { status: number; message: string });
    expect((refused as { status: number }).status).toBe(402);
    expect((refused as { message: string }).message).toContain('MANA_BUDGET_EXHAUSTED=refuse');
    expect((await burst(s, B_KEY, 1))[0]?.choices[0]?.message.content).toBeTruthy();
  }, 60_000);
});

describe('tokens per minute per tenant (MANA_TENANT_TPM)', () => {
  it('refuses with 429 and Retry-After once the tokens of the minute reach the limit; another tenant is not held back', async () => {
    const s = await start({ MANA_TENANT_TPM: 'team-a:60' });
    // Any moment will do: the window slides across a minute's end (when it counted the calendar
    // minute alone, a run across one started again from zero and never reached the limit).
    const ask = (key: string) =>
      fetch(`${s.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'a short question' }] }),
      });
    let used = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const res = await ask(A_KEY);
      if (res.status === 429) refused = res;
      else {
        expect(res.status).toBe(200);
        const { usage } = (await res.json()) as { usage: { total_tokens: number } };
        used += usage.total_tokens;
        // The ledger counts the tokens a moment after the answer.
        await expect
          .poll(
            async () => ((await (await fetch(`${s.baseURL}/usage`, { headers: { authorization: `Bearer ${A_KEY}` } })).json()) as { totals: { requests: number } }).totals.requests,
          )
          .toBe(i + 1);
      }
    }
    expect(refused?.status).toBe(429);
    // Refused only once the last minute's tokens (as the emulator counted them) neared the limit.
    expect(used).toBeGreaterThan(30);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused!.json()) as { error: { message: string } }).error.message).toContain('MANA_TENANT_TPM');
    expect((await ask(B_KEY)).status).toBe(200);
    // A prompt larger than the limit on its own is never admitted: a 400 naming it, not a 429 to retry.
    const huge = await fetch(`${s.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${A_KEY}` },
      body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'word '.repeat(200) }] }),
    });
    expect(huge.status).toBe(400);
    const error = ((await huge.json()) as { error: { message: string; param: string | null } }).error;
    expect(error.param).toBe('messages');
    expect(error.message).toContain('MANA_TENANT_TPM');
  }, 60_000);
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPriceFile } from '@mana/aliases';
import { type Stack, startStack } from '@mana/testing';

const A_KEY = 'ledger-team-a-0123456789';
const B_KEY = 'ledger-team-b-0123456789';
const ADMIN = 'ledger-admin-key-0123456789';
const PRICES = loadPriceFile(new URL('../../prices.yaml', import.meta.url).pathname);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 2, env: { MANA_API_KEYS: `team-a:${A_KEY},team-b:${B_KEY}`, MANA_ADMIN_KEY: ADMIN } });
});
afterAll(() => stack?.close());

const client = (key: string) => new OpenAI({ baseURL: stack.baseURL, apiKey: key, maxRetries: 0 });
const price = (target: string) => {
  if (!PRICES.ok) throw new Error(PRICES.error);
  return PRICES.table.byTarget[target]!;
};
const dollars = (target: string, prompt: number, completion: number) => (prompt * price(target).input + completion * price(target).output) / 1e6;

interface UsageBody {
  prices_as_of: string | null;
  totals: { requests: number; cost_usd: number };
  data: Array<{
    tenant: string;
    alias: string;
    target: string;
    requests: number;
    prompt_tokens: number;
    completion_tokens: number;
    gpu_seconds: number;
    cost_usd: number;
    cost_avoided_usd: number;
  }>;
  budget?: unknown;
  budgets?: Record<string, unknown>;
}
const usage = async (path: string, key: string) => (await (await fetch(`${stack.api.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).json()) as UsageBody;

describe('the usage and cost ledger', () => {
  it("accounts each tenant's jobs per alias and target: tokens as the emulators counted them, GPU time, cloud cost and cost avoided", async () => {
    const local = await client(A_KEY).chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'count these words for me please' }] });
    const cloud = await client(A_KEY).chat.completions.create({ model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'and these ones too' }] });
    await client(B_KEY).chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'team b asks' }] });
    const mine = await expect
      .poll(async () => usage('/v1/usage', A_KEY), { timeout: 10_000 })
      .toSatisfy((u: UsageBody) => u.totals.requests === 2)
      .then(() => usage('/v1/usage', A_KEY));
    expect(mine.prices_as_of).toBe('2025-06-01');
    expect(mine.data.every((r) => r.tenant === 'team-a')).toBe(true);
    const gpuRow = mine.data.find((r) => r.target === 'ollama/gemma3:4b')!;
    expect(gpuRow).toMatchObject({
      alias: 'mana/fast-text',
      requests: 1,
      prompt_tokens: local.usage!.prompt_tokens,
      completion_tokens: local.usage!.completion_tokens,
      cost_usd: 0,
    });
    expect(gpuRow.gpu_seconds).toBeGreaterThan(0);
    // What the same tokens would have cost on the alias's cloud target.
    expect(gpuRow.cost_avoided_usd).toBeCloseTo(dollars('google/gemini-2.0-flash', local.usage!.prompt_tokens, local.usage!.completion_tokens), 9);
    const cloudRow = mine.data.find((r) => r.target === 'google/gemini-2.0-flash')!;
    expect(cloudRow).toMatchObject({
      alias: 'none',
      requests: 1,
      prompt_tokens: cloud.usage!.prompt_tokens,
      completion_tokens: cloud.usage!.completion_tokens,
      gpu_seconds: 0,
      cost_avoided_usd: 0,
    });
    expect(cloudRow.cost_usd).toBeGreaterThan(0);
    expect(cloudRow.cost_usd).toBeCloseTo(dollars('google/gemini-2.0-flash', cloud.usage!.prompt_tokens, cloud.usage!.completion_tokens), 9);

    // The operator sees every tenant (team b's job, answered last, is written within a stats batch of it); a tenant key cannot.
    await expect.poll(async () => new Set((await usage('/admin/usage', ADMIN)).data.map((r) => r.tenant))).toEqual(new Set(['team-a', 'team-b']));
    expect((await fetch(`${stack.api.url}/admin/usage`, { headers: { authorization: `Bearer ${A_KEY}` } })).status).toBe(401);
    // Prometheus counters from the same ledger.
    const metrics = await (await fetch(`${stack.api.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metrics).toMatch(/mana_usage_cloud_cost_usd_total\{tenant="team-a",alias="none",target="google\/gemini-2.0-flash"\} [0-9.e-]+/);
    expect(metrics).toContain(`mana_usage_prompt_tokens_total{tenant="team-a",alias="mana/fast-text",target="ollama/gemma3:4b"} ${local.usage!.prompt_tokens}`);
  });

  it('puts the cost on the job record and on each batch output line', async () => {
    const job = (await (
      await fetch(`${stack.baseURL}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${A_KEY}` },
        body: JSON.stringify({ type: 'chat', request: { model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'a job' }] } }),
      })
    ).json()) as { id: string };
    const view = await expect
      .poll(async () => (await (await fetch(`${stack.baseURL}/jobs/${job.id}`, { headers: { authorization: `Bearer ${A_KEY}` } })).json()) as Record<string, any>, {
        timeout: 10_000,
      })
      .toSatisfy((v: Record<string, any>) => v.status === 'succeeded')
      .then(async () => (await (await fetch(`${stack.baseURL}/jobs/${job.id}`, { headers: { authorization: `Bearer ${A_KEY}` } })).json()) as Record<string, any>);
    expect(view.cost).toMatchObject({ priced_as: 'google/gemini-2.0-flash', priced: true, gpu_seconds: 0 });
    expect(view.cost.usd).toBeCloseTo(dollars('google/gemini-2.0-flash', view.usage.prompt_tokens, view.usage.completion_tokens), 9);

    const b = client(B_KEY);
    const line = JSON.stringify({
      custom_id: 'one',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'mana/fast-text', messages: [{ role: 'user', content: 'batch item' }] },
    });
    const file = await b.files.create({ file: await toFile(Buffer.from(line + '\n'), 'in.jsonl'), purpose: 'batch' });
    const batch = await b.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await expect.poll(async () => (await b.batches.retrieve(batch.id)).status, { timeout: 15_000 }).toBe('completed');
    const out = JSON.parse((await (await b.files.content((await b.batches.retrieve(batch.id)).output_file_id!)).text()).trim()) as Record<string, any>;
    const tokens = out.response.body.usage;
    expect(out.cost).toMatchObject({ usd: 0, priced_as: 'google/gemini-2.0-flash', priced: true });
    expect(out.cost.gpu_seconds).toBeGreaterThan(0);
    expect(out.cost.avoided_usd).toBeCloseTo(dollars('google/gemini-2.0-flash', tokens.prompt_tokens, tokens.completion_tokens), 9);
  });

  it('mana usage prints the tenant’s table with totals; --all with the admin key prints every tenant and their budgets', async () => {
    const mana = async (...args: string[]) =>
      (
        await promisify(execFile)(process.execPath, [new URL('../../apps/cli/bin/mana.js', import.meta.url).pathname, ...args], {
          env: { ...process.env, MANA_URL: stack.api.url, MANA_API_KEY: A_KEY, MANA_ADMIN_KEY: ADMIN },
        })
      ).stdout;
    const mine = await mana('usage');
    expect(mine).toContain('prices as of 2025-06-01');
    expect(mine).toMatch(/team-a\s+mana\/fast-text\s+ollama\/gemma3:4b\s+1\s+0\s+\d+\s+\d+/);
    expect(mine).not.toContain('team-b');
    expect(mine).toMatch(/^total\s+\d+/m);
    const all = await mana('usage', '--all');
    expect(all).toContain('team-a');
    expect(all).toContain('team-b');
  });

  it('refuses a bad range with a 400 naming the field', async () => {
    const res = await fetch(`${stack.baseURL}/usage?from=yesterday`, { headers: { authorization: `Bearer ${A_KEY}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string; param?: string } }).error.message).toContain('from');
  });
});

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@mana/config';
import { ConfigError } from '@mana/errors';
import { type Stack, startStack } from '@mana/testing';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789ab';
const ADMIN = 'admin-key-0123456789';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gpus: 1, env: { MANA_API_KEYS: `alice:${ALICE},bob:${BOB}`, MANA_ADMIN_KEY: ADMIN, MANA_TENANT_RPM: '40' } });
});
afterAll(() => stack?.close());

const as = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

async function submitAs(key: string): Promise<string> {
  const res = await fetch(`${stack.api.url}/v1/jobs`, {
    method: 'POST',
    headers: as(key),
    body: JSON.stringify({ type: 'chat', request: { messages: [{ role: 'user', content: 'mine' }] } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('API keys and tenants', () => {
  it("refuses requests without a key, or with a wrong one, in OpenAI's error shape", async () => {
    const none = await fetch(`${stack.baseURL}/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = new OpenAI({ baseURL: stack.baseURL, apiKey: 'not-a-key', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('serves a valid key through the openai client', async () => {
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: ALICE, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toContain('hi');
  });

  it.each([
    ['GET', ''],
    ['GET', '/events'],
    ['DELETE', ''],
  ])("shows another tenant's job as missing (%s /v1/jobs/:id%s → 404)", async (method, suffix) => {
    const id = await submitAs(ALICE);
    const res = await fetch(`${stack.api.url}/v1/jobs/${id}${suffix}`, { method, headers: as(BOB) });
    expect(res.status).toBe(404);
    const own = await fetch(`${stack.api.url}/v1/jobs/${id}`, { headers: as(ALICE) });
    expect(own.status).toBe(200);
  });

  it("shows another tenant's files and batches as missing", async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append(
      'file',
      new Blob([JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }] } }) + '\n']),
      'in.jsonl',
    );
    const upload = await fetch(`${stack.api.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` }, body: form });
    const file = (await upload.json()) as { id: string };
    expect((await fetch(`${stack.api.url}/v1/files/${file.id}`, { headers: as(BOB) })).status).toBe(404);
    expect((await fetch(`${stack.api.url}/v1/files/${file.id}/content`, { headers: as(BOB) })).status).toBe(404);
    const asBob = await fetch(`${stack.api.url}/v1/batches`, {
      method: 'POST',
      headers: as(BOB),
      body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    expect(asBob.status).toBe(404);
    const created = await fetch(`${stack.api.url}/v1/batches`, {
      method: 'POST',
      headers: as(ALICE),
      body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    const batch = (await created.json()) as { id: string };
    expect((await fetch(`${stack.api.url}/v1/batches/${batch.id}`, { headers: as(BOB) })).status).toBe(404);
    expect((await fetch(`${stack.api.url}/v1/batches/${batch.id}/cancel`, { method: 'POST', headers: as(BOB) })).status).toBe(404);
    const bobsList = (await (await fetch(`${stack.api.url}/v1/batches`, { headers: as(BOB) })).json()) as { data: Array<{ id: string }> };
    expect(bobsList.data.map((b) => b.id)).not.toContain(batch.id);
  });

  it('keeps Idempotency-Keys apart per tenant', async () => {
    const post = (key: string) =>
      fetch(`${stack.api.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...as(key), 'idempotency-key': 'shared-key' },
        body: JSON.stringify({ type: 'chat', request: { messages: [{ role: 'user', content: 'x' }] } }),
      }).then(async (r) => ((await r.json()) as { id: string }).id);
    expect(await post(ALICE)).not.toBe(await post(BOB));
  });

  it('guards admin routes with the admin key', async () => {
    expect((await fetch(`${stack.api.url}/admin/aliases`, { headers: as(ALICE) })).status).toBe(401);
    expect((await fetch(`${stack.api.url}/status`)).status).toBe(401);
    expect((await fetch(`${stack.api.url}/admin/aliases`, { headers: as(ADMIN) })).status).toBe(200);
    expect((await fetch(`${stack.api.url}/admin/aliases/reload`, { method: 'POST', headers: as(ADMIN) })).status).toBe(200);
    expect((await fetch(`${stack.api.url}/health`)).status).toBe(200);
  });

  it('limits requests per minute per tenant with 429, Retry-After and the limit named', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      const res = await fetch(`${stack.baseURL}/models`, { headers: as(BOB) });
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await limited!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain('40 requests per minute');
    // Another tenant is not held back by bob's traffic.
    expect((await fetch(`${stack.baseURL}/models`, { headers: as(ALICE) })).status).toBe(200);
  });
});

describe('keys in the configuration', () => {
  it('refuses to listen on a public address without keys', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: refusing to listen on 0.0.0.0 without API keys/);
    expect(loadConfig({ HOST: '0.0.0.0', MANA_API_KEYS: `a:${ALICE}` }).auth.keys).toHaveLength(1);
  });

  it('rejects short keys and malformed entries, naming the variable but never the key', () => {
    try {
      loadConfig({ MANA_API_KEYS: 'alice:short' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).toContain('MANA_API_KEYS: entry 1 (tenant alice): keys must be at least 16 characters');
      expect((err as Error).message).not.toContain('short"');
    }
    expect(() => loadConfig({ MANA_API_KEYS: 'no-colon-here-at-all' })).toThrow(/MANA_API_KEYS: entry 1: expected tenant:key/);
  });

  it('reads keys from MANA_API_KEYS_FILE, one per line, with comments', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const path = join(await mkdtemp(join(tmpdir(), 'mana-keys-')), 'keys');
    await writeFile(path, `# team keys\nalice:${ALICE}\n\nbob:${BOB}\n`);
    expect(loadConfig({ MANA_API_KEYS_FILE: path }).auth.keys.map((k) => k.tenant)).toEqual(['alice', 'bob']);
    expect(() => loadConfig({ MANA_API_KEYS_FILE: '/nonexistent/keys' })).toThrow(/MANA_API_KEYS_FILE: cannot read \/nonexistent\/keys: ENOENT/);
  });
});

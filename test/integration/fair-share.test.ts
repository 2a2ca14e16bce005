import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '@mana/jobs';
import { type Stack, startStack } from '@mana/testing';

const A_KEY = 'team-a-key-0123456789';
const B_KEY = 'team-b-key-0123456789';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(env: Record<string, string> = {}): Promise<Stack> {
  // 2 GPUs × 2 slots, ~100 ms an item; nothing spills (the shares are the GPUs').
  stack = await startStack({
    gpus: 2,
    maxConcurrent: 2,
    ollama: { timeToFirstTokenMs: 10, perTokenMs: 8 },
    env: { MANA_API_KEYS: `team-a:${A_KEY},team-b:${B_KEY}`, AUTO_FALLBACK_ENABLED: 'false', MANA_INTERACTIVE_RESERVED_SLOTS: '0', ...env },
  });
  return stack;
}

async function submitBatch(s: Stack, key: string, items: number, tag: string): Promise<string> {
  const client = new OpenAI({ baseURL: s.baseURL, apiKey: key, maxRetries: 0 });
  const rows = Array.from({ length: items }, (_, i) => ({
    custom_id: `${tag}-${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: `${tag} item ${i}` }] },
  }));
  const file = await client.files.create({ file: await toFile(Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')), 'in.jsonl'), purpose: 'batch' });
  return (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id;
}

async function finished(s: Stack, key: string, id: string): Promise<void> {
  const client = new OpenAI({ baseURL: s.baseURL, apiKey: key, maxRetries: 0 });
  await expect.poll(async () => (await client.batches.retrieve(id)).status, { timeout: 60_000, interval: 200 }).toBe('completed');
}

/** Among the hops started while both tenants had work waiting (from B's first start to its last), the share that was B's. */
function shareOfB(records: JobRecord[]): { b: number; a: number } {
  const starts = records.filter((r) => r.startedAt !== undefined).sort((x, y) => x.startedAt! - y.startedAt!);
  const first = starts.findIndex((r) => r.tenant === 'team-b');
  const last = starts.findLastIndex((r) => r.tenant === 'team-b');
  const window = starts.slice(first, last + 1);
  return { b: window.filter((r) => r.tenant === 'team-b').length, a: window.filter((r) => r.tenant === 'team-a').length };
}

describe('fair share of the GPU slots between tenants', () => {
  it('gives a batch that arrives behind another its equal share of starts, not the end of the line', async () => {
    const s = await start();
    const a = await submitBatch(s, A_KEY, 240, 'a');
    // B's batch comes once A's is queued whole: in arrival order B would start after all of A's.
    await expect.poll(async () => (await s.jobs()).filter((r) => r.tenant === 'team-a').length, { timeout: 20_000 }).toBe(240);
    const b = await submitBatch(s, B_KEY, 60, 'b');
    await expect.poll(async () => (await s.jobs()).filter((r) => r.tenant === 'team-b').length, { timeout: 20_000 }).toBe(60);
    // While both wait, B's last item is ahead of A's items still waiting (in arrival order it would be behind every one),
    // and its estimated start is in the rounds of the 4 slots ahead of it.
    const records = await s.jobs();
    const lastOfB = records.find((r) => r.batch?.customId === 'b-59')!;
    const aWaiting = records.filter((r) => r.tenant === 'team-a' && r.status === 'queued').length;
    const response = await fetch(`${s.baseURL}/jobs/${lastOfB.id}`, { headers: { authorization: `Bearer ${B_KEY}` } });
    const view = (await response.json()) as { position: number | null; estimated_start_ms: number | null };
    expect(aWaiting).toBeGreaterThan(60);
    expect(view.position).not.toBeNull();
    expect(view.position!).toBeLessThan(aWaiting);
    expect(view.estimated_start_ms).toBeGreaterThanOrEqual(0);
    expect(view.estimated_start_ms!).toBeLessThan(60_000);
    // The batches' progress says the same: B's last item comes before A's.
    const progress = async (key: string, id: string) =>
      ((await (await fetch(`${s.baseURL}/batches/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { mana_progress: { last_item_position: number } | null })
        .mana_progress;
    const [ofA, ofB] = await Promise.all([progress(A_KEY, a), progress(B_KEY, b)]);
    expect(ofB?.last_item_position).toBeLessThan(ofA!.last_item_position);
    await Promise.all([finished(s, A_KEY, a), finished(s, B_KEY, b)]);
    const { a: aStarts, b: bStarts } = shareOfB(await s.jobs());
    expect(bStarts).toBe(60);
    // Equal weights: B started every other hop while it had work waiting (a few slots' worth of slack at either end).
    expect(bStarts / (aStarts + bStarts)).toBeGreaterThan(0.42);
    expect(bStarts / (aStarts + bStarts)).toBeLessThan(0.58);
  }, 90_000);

  it.each([
    ['MANA_TENANT_WEIGHTS=team-a:3,team-b:1', async () => ({ MANA_TENANT_WEIGHTS: 'team-a:3,team-b:1' })],
    [
      'weight=3 in MANA_API_KEYS_FILE, over MANA_TENANT_WEIGHTS=team-a:1',
      async () => {
        const file = join(await mkdtemp(join(tmpdir(), 'mana-keys-')), 'keys');
        await writeFile(file, `# team-a's pipelines get three shares\nteam-a:${A_KEY} weight=3\nteam-b:${B_KEY}\n`);
        return { MANA_API_KEYS: '', MANA_API_KEYS_FILE: file, MANA_TENANT_WEIGHTS: 'team-a:1' };
      },
    ],
  ])(
    'shares by weight (%s), whatever the arrival order',
    async (_name, env) => {
      const s = await start(await env());
      // B first this time, with the smaller weight: A, arriving later, still gets three starts in four.
      const b = await submitBatch(s, B_KEY, 200, 'b');
      await expect.poll(async () => (await s.jobs()).filter((r) => r.tenant === 'team-b').length, { timeout: 20_000 }).toBe(200);
      const a = await submitBatch(s, A_KEY, 90, 'a');
      await Promise.all([finished(s, A_KEY, a), finished(s, B_KEY, b)]);
      const starts = (await s.jobs()).filter((r) => r.startedAt !== undefined).sort((x, y) => x.startedAt! - y.startedAt!);
      const first = starts.findIndex((r) => r.tenant === 'team-a');
      const last = starts.findLastIndex((r) => r.tenant === 'team-a');
      const window = starts.slice(first, last + 1);
      const aShare = window.filter((r) => r.tenant === 'team-a').length / window.length;
      expect(window.filter((r) => r.tenant === 'team-a')).toHaveLength(90);
      expect(aShare).toBeGreaterThan(0.68);
      expect(aShare).toBeLessThan(0.82);
    },
    90_000,
  );
});

describe('one tenant (no client keys)', () => {
  it('tags no hop and keeps no clocks, and its hops still start in arrival order, interactive first', async () => {
    stack = await startStack({
      gpus: 1,
      maxConcurrent: 1,
      ollama: { timeToFirstTokenMs: 30, perTokenMs: 5 },
      env: { AUTO_FALLBACK_ENABLED: 'false', MANA_INTERACTIVE_RESERVED_SLOTS: '0' },
    });
    const s = stack;
    const submit = async (priority: string, text: string) => {
      const body = { type: 'chat', priority, request: { model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: text }] } };
      const response = await fetch(`${s.baseURL}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const queued: string[] = [];
    for (let i = 0; i < 6; i++) queued.push(await submit('async', `async item ${i}`));
    const urgent = await submit('interactive', 'urgent');
    await expect.poll(async () => (await s.jobs()).filter((r) => r.status === 'succeeded').length, { timeout: 20_000 }).toBe(7);
    const starts = (await s.jobs()).sort((x, y) => x.startedAt! - y.startedAt!).map((r) => r.id);
    // One slot: the async jobs start in the order they came, and the interactive one before every async job still waiting.
    expect(starts.filter((id) => id !== urgent)).toEqual(queued);
    expect(starts.indexOf(urgent)).toBeLessThanOrEqual(2);
    expect(await s.pipeline.redis.keys(s.keys.fairClocks('*', '*'))).toEqual([]);
  });
});

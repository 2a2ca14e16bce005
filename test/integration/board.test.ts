import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

const ADMIN = 'admin-key-0123456789';
const CLIENT = 'client-key-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ gpus: 1, env: { MANA_API_KEYS: `team:${CLIENT}`, MANA_ADMIN_KEY: ADMIN } });
});
afterAll(() => stack?.close());

const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`operator:${password}`).toString('base64')}` });

interface BoardQueues {
  queues: Array<{ name: string; displayName?: string; counts: Record<string, number>; jobs: Array<{ id: string; name: string; failedReason?: string }> }>;
}

describe('bull-board at /admin/queues', () => {
  it('refuses anyone without the admin key, asking a browser for it', async () => {
    const res = await fetch(`${stack.api.url}/admin/queues`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Basic');
    expect((await fetch(`${stack.api.url}/admin/queues`, { headers: basic(CLIENT) })).status).toBe(401);
  });

  it('serves the board to the admin key, as a browser password or a bearer token', async () => {
    const page = await fetch(`${stack.api.url}/admin/queues`, { headers: basic(ADMIN) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"');
    const api = await fetch(`${stack.api.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await api.json()) as BoardQueues;
    // One queue per cloud provider; local models get theirs as work for them is queued (next test).
    expect(body.queues.map((q) => q.displayName)).toEqual(expect.arrayContaining(['google', 'openrouter', 'groq', 'together']));
  });

  it('shows a failed hop under its client job id, with the provider error', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 400, message: 'the model rejected the prompt', times: 1 });
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'x' }] }),
    });
    const jobId = res.headers.get('x-mana-job-id');
    expect(res.status).toBe(400);
    // The client hears of the failure before BullMQ has moved the hop to failed: wait for the board.
    const failedHops = async () => {
      const board = (await (
        await fetch(`${stack.api.url}/admin/queues/api/queues?activeQueue=${encodeURIComponent('{local.gemma3~3a4b}')}&status=failed&page=1&jobsPerPage=10`, {
          headers: basic(ADMIN),
        })
      ).json()) as BoardQueues;
      return board.queues.find((q) => q.displayName === 'ollama/gemma3:4b');
    };
    await expect.poll(async () => (await failedHops())?.counts.failed).toBe(1);
    const ollama = await failedHops();
    const failed = ollama?.jobs[0];
    expect(failed?.name).toBe(`${jobId} · hop 0 · ollama/gemma3:4b`);
    expect(failed?.failedReason).toContain('the model rejected the prompt');
  });
});

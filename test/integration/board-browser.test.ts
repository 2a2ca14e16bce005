import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

// Debian's chromium (installed by .ci/run), driven by playwright-core: no browser download.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ADMIN = 'admin-key-0123456789';
const CLIENT = 'client-key-0123456789';

let stack: Stack;
let browser: Browser;
let failedJobId: string;

beforeAll(async () => {
  stack = await startStack({ gpus: 1, env: { MANA_API_KEYS: `team:${CLIENT}`, MANA_ADMIN_KEY: ADMIN } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  stack.gpus[0]!.faults.add({ mode: 'error', status: 400, message: 'the model rejected the prompt', times: 1 });
  const failed = await fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'x' }] }),
  });
  failedJobId = failed.headers.get('x-mana-job-id') ?? '';
  const ok = await fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'fine' }] }),
  });
  expect(ok.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('bull-board in a real browser', () => {
  it('refuses a browser without the admin password, or with a client key as password', async () => {
    // Chromium answers a Basic challenge it cannot meet by failing the navigation.
    const page = await browser.newPage();
    await expect(page.goto(`${stack.api.url}/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    const wrong = await browser.newContext({ httpCredentials: { username: 'operator', password: CLIENT } });
    const refused = await (await wrong.newPage()).goto(`${stack.api.url}/admin/queues`);
    expect(refused?.status()).toBe(401);
    await Promise.all([page.close(), wrong.close()]);
  });

  it('logs in, shows the queues with their counts, and opens a failed hop with its provider error', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'operator', password: ADMIN } });
    const page = await context.newPage();
    await page.goto(`${stack.api.url}/admin/queues`);
    await expect.poll(() => page.getByText('{local.gemma3~3a4b}', { exact: true }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByText('{google}', { exact: true }).count()).toBeGreaterThan(0);
    // The local model's card counts its two hops (one failed, one completed); no cloud queue got any.
    const card = (name: string) =>
      page
        .locator('div')
        .filter({ hasText: new RegExp(`^${name}`) })
        .filter({ hasText: /\d+ Jobs/ })
        .last();
    await expect.poll(async () => (await card('ollama/gemma3:4b').innerText()).replace(/\s+/g, ' '), { timeout: 15_000 }).toContain('2 Jobs');
    expect((await card('google').innerText()).replace(/\s+/g, ' ')).toContain('0 Jobs');
    // As an operator would: open the queue from the menu, then its Failed tab.
    await page.getByRole('link', { name: '{local.gemma3~3a4b}', exact: true }).click();
    await page
      .getByRole('link', { name: /failed/i })
      .first()
      .click();
    await expect.poll(() => page.getByText(`${failedJobId} · hop 0 · ollama/gemma3:4b`).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByText('the model rejected the prompt').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: '/tmp/mana-board-failed.png', fullPage: true });
    await context.close();
  });
});

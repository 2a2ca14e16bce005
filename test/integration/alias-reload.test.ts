import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHIPPED_ALIASES, type SpawnedProcess, type Stack, spawnTs, startStack } from '@mana/testing';

const API_MAIN = new URL('../../apps/api/src/main.ts', import.meta.url).pathname;

let stack: Stack | undefined;
let dir: string | undefined;
let api: SpawnedProcess | undefined;
afterEach(async () => {
  api?.child.kill('SIGKILL');
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  stack = undefined;
});

async function aliasesCopy(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'mana-reload-'));
  const path = join(dir, 'aliases.yaml');
  await copyFile(SHIPPED_ALIASES, path);
  return path;
}

async function rewriteFastText(path: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  await writeFile(path, text.replace('chain: [ollama/gemma3:4b, google/gemini-2.0-flash]', 'chain: [ollama/qwen3:8b, google/gemini-2.0-flash]'));
}

function chat(url: string, text: string) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mana-priority': 'batch' },
    body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: text }] }),
  });
}

describe('alias reload under traffic', () => {
  it('in-flight jobs keep the chain they were resolved with; new jobs get the new one', async () => {
    const path = await aliasesCopy();
    stack = await startStack({ gpus: 1, maxConcurrent: 2, ollama: { perTokenMs: 40 }, env: { MANA_ALIASES_PATH: path } });
    const inFlight = ['one a b c d', 'two a b c d', 'three a b c d', 'four a b c d'].map((t) => chat(stack!.api.url, t));
    await expect.poll(async () => (await stack!.jobs()).length).toBe(4);
    await rewriteFastText(path);
    const reload = await fetch(`${stack.api.url}/admin/aliases/reload`, { method: 'POST' });
    expect(((await reload.json()) as { ok: boolean; changed: boolean }).changed).toBe(true);
    const after = await chat(stack.api.url, 'after the reload');
    expect(after.headers.get('x-mana-model')).toBe('ollama/qwen3:8b');
    for (const response of await Promise.all(inFlight)) expect(response.headers.get('x-mana-model')).toBe('ollama/gemma3:4b');
  });

  it('a bad file keeps the old aliases and says why (422 with the location)', async () => {
    const path = await aliasesCopy();
    stack = await startStack({ gpus: 1, env: { MANA_ALIASES_PATH: path } });
    await writeFile(path, (await readFile(path, 'utf8')).replace('default: mana/fast-text', 'default: mana/missing'));
    const reload = await fetch(`${stack.api.url}/admin/aliases/reload`, { method: 'POST' });
    expect(reload.status).toBe(422);
    const body = (await reload.json()) as { status: { lastReloadError: { issues: string[] } } };
    expect(body.status.lastReloadError.issues[0]).toMatch(/aliases\.yaml:\d+:\d+: error: default: default names "mana\/missing"/);
    const still = await chat(stack.api.url, 'still served');
    expect(still.headers.get('x-mana-model')).toBe('ollama/gemma3:4b');
  });

  it('SIGHUP reloads the aliases of a running API process', async () => {
    const path = await aliasesCopy();
    stack = await startStack({ gpus: 1, env: { MANA_ALIASES_PATH: path } });
    api = spawnTs(API_MAIN, [], stack.env);
    const listening = await api.waitForLine((l) => l.includes('"api listening"'));
    const url = (JSON.parse(listening) as { url: string }).url;
    const before = (await (await fetch(`${url}/admin/aliases`)).json()) as { version: string };
    await rewriteFastText(path);
    api.child.kill('SIGHUP');
    await api.waitForLine((l) => l.includes('"aliases reloaded"'));
    const after = (await (await fetch(`${url}/admin/aliases`)).json()) as { version: string };
    expect(after.version).not.toBe(before.version);
    expect((await chat(url, 'via the reloaded api')).headers.get('x-mana-model')).toBe('ollama/qwen3:8b');
  });
});

interface ReloadAnswer {
  ok: boolean;
  version: string;
  processes: Array<{ instance: string; aliases: { version: string }; lastReload: { aliases: { ok: boolean } } | null }>;
  silent: string[];
}

describe('reload behind a load balancer', () => {
  it('POST /admin/aliases/reload to one API process reloads every API process, and reports each', async () => {
    const path = await aliasesCopy();
    stack = await startStack({ gpus: 1, env: { MANA_ALIASES_PATH: path } });
    api = spawnTs(API_MAIN, [], stack.env);
    const url = (JSON.parse(await api.waitForLine((l) => l.includes('"api listening"'))) as { url: string }).url;
    await expect.poll(async () => ((await (await fetch(`${url}/admin/aliases`)).json()) as { processes: unknown[] }).processes.length).toBe(2);
    await rewriteFastText(path);
    const reload = await fetch(`${url}/admin/aliases/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);
    const answer = (await reload.json()) as ReloadAnswer;
    expect(answer.silent).toEqual([]);
    expect(answer.processes).toHaveLength(2);
    for (const p of answer.processes) {
      expect(p.aliases.version).toBe(answer.version);
      expect(p.lastReload?.aliases.ok).toBe(true);
    }
    // The process that was not asked serves the new aliases too.
    expect((await chat(stack.api.url, 'via the other process')).headers.get('x-mana-model')).toBe('ollama/qwen3:8b');
  });
});

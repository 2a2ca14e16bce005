import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@mana/errors';
import { type AliasLog, AliasStore } from './store.js';

const fixture = (name: string) => new URL(`../../../test/fixtures/aliases/${name}`, import.meta.url).pathname;

/** Collects what the store logs, so tests can assert on the reported failure. */
function recordingLog(): AliasLog & { lines: Array<{ level: string; details: object; message: string }> } {
  const lines: Array<{ level: string; details: object; message: string }> = [];
  const at = (level: string) => (details: object, message: string) => void lines.push({ level, details, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mana-aliases-'));
  path = join(dir, 'aliases.yaml');
  await copyFile(fixture('valid.yaml'), path);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AliasStore', () => {
  it('refuses to start on an invalid file, listing each problem with its location', async () => {
    await copyFile(fixture('invalid-provider.yaml'), path);
    const opening = AliasStore.open(path, recordingLog());
    await expect(opening).rejects.toBeInstanceOf(ConfigError);
    await expect(opening).rejects.toThrow(/aliases\.yaml:7:\d+: error: aliases\.mana\/fast-text\.chain\[0\]: .*unknown provider "ollama-gpu"/);
  });

  it('swaps to a good file on reload and reports the new version', async () => {
    const log = recordingLog();
    const store = await AliasStore.open(path, log);
    const before = store.current();
    await copyFile(fixture('valid-v2.yaml'), path);
    const outcome = await store.reload();
    expect(outcome).toMatchObject({ ok: true, changed: true });
    const after = store.current();
    expect(after.version).not.toBe(before.version);
    expect(Object.keys(after.aliases)).toEqual(['mana/fast-text', 'mana/second']);
    expect(after.aliases['mana/fast-text']?.chain[0]?.id).toBe('ollama/gemma3:12b');
    // A reader that took the old table keeps a whole, unchanged table.
    expect(before.aliases['mana/fast-text']?.chain[0]?.id).toBe('ollama/gemma3:4b');
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', message: 'aliases reloaded' });
  });

  it('keeps the previous aliases when the new file is invalid, and says why', async () => {
    const log = recordingLog();
    const store = await AliasStore.open(path, log);
    const good = store.current();
    await writeFile(path, (await readFile(fixture('valid.yaml'), 'utf8')).replace('chain: [ollama/gemma3:4b', 'chain: [olama/gemma3:4b'));
    const outcome = await store.reload();
    expect(outcome.ok).toBe(false);
    expect(store.current()).toBe(good);
    const status = store.status();
    expect(status.version).toBe(good.version);
    expect(status.lastReloadError?.issues[0]).toMatch(/aliases\.yaml:11:\d+: error: aliases\.mana\/fast-text\.chain\[0\]: .*unknown provider "olama"/);
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', message: 'aliases reload failed; keeping the previous aliases' });
  });

  it('keeps the previous aliases when the file disappears or is not YAML', async () => {
    const store = await AliasStore.open(path, recordingLog());
    const good = store.current();
    await writeFile(path, 'aliases: [unclosed\n');
    expect((await store.reload()).ok).toBe(false);
    await rm(path);
    const outcome = await store.reload();
    expect(outcome.ok).toBe(false);
    expect(store.status().lastReloadError?.issues[0]).toContain('file not found');
    expect(store.current()).toBe(good);
  });

  it('clears the last reload error after a good reload', async () => {
    const store = await AliasStore.open(path, recordingLog());
    await writeFile(path, 'version: 1\n');
    await store.reload();
    expect(store.status().lastReloadError).not.toBeNull();
    await copyFile(fixture('valid-v2.yaml'), path);
    await store.reload();
    expect(store.status().lastReloadError).toBeNull();
  });

  it('reports an unchanged file as unchanged', async () => {
    const store = await AliasStore.open(path, recordingLog());
    expect(await store.reload()).toMatchObject({ ok: true, changed: false, version: store.current().version });
  });

  it('never shows a reader half a file while reloads race', async () => {
    const store = await AliasStore.open(path, recordingLog());
    const v1 = await readFile(fixture('valid.yaml'), 'utf8');
    const v2 = await readFile(fixture('valid-v2.yaml'), 'utf8');
    // A reader samples the table on every turn of the event loop while reloads run.
    const namesByVersion = new Map<string, Set<string>>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const table = store.current();
        const names = Object.keys(table.aliases).join(',');
        namesByVersion.set(table.version, (namesByVersion.get(table.version) ?? new Set()).add(names));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let round = 0; round < 20; round++) {
      await writeFile(path, round % 2 === 0 ? v2 : v1);
      await Promise.all([store.reload(), store.reload()]);
    }
    reading = false;
    await reader;
    expect(namesByVersion.size).toBe(2);
    for (const names of namesByVersion.values()) expect(names.size).toBe(1);
  });
});

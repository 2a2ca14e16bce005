import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type SpawnedProcess, spawnTs } from '@mana/testing';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const child = fixture('aliases-sighup-child.ts');

let proc: SpawnedProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  proc?.child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Event {
  event: string;
  version: string;
  aliases: string[];
  error: { issues: string[] } | null;
}

it('a running process reloads on SIGHUP, and keeps serving the old aliases after a bad edit', async () => {
  dir = await mkdtemp(join(tmpdir(), 'mana-sighup-'));
  const path = join(dir, 'aliases.yaml');
  await copyFile(fixture('aliases/valid.yaml'), path);
  proc = spawnTs(child, [path]);
  const ready = JSON.parse(await proc.waitForLine((l) => l.includes('"ready"'))) as Event;
  expect(ready.aliases).toEqual(['mana/fast-text', 'mana/embed']);

  // A typo plus SIGHUP: the process lives on with the previous aliases and says why.
  await writeFile(path, 'version: 1\ndefault: mana/x\naliases:\n  mana/x: { chain: [] }\n');
  proc.child.kill('SIGHUP');
  const failed = JSON.parse(await proc.waitForLine((l) => l.includes('"reload-failed"'))) as Event;
  expect(failed.version).toBe(ready.version);
  expect(failed.aliases).toEqual(ready.aliases);
  expect(failed.error?.issues[0]).toContain('aliases.mana/x.chain: alias "mana/x" has an empty chain');

  // A good edit plus SIGHUP: swapped, and the error is cleared.
  await copyFile(fixture('aliases/valid-v2.yaml'), path);
  proc.child.kill('SIGHUP');
  const reloaded = JSON.parse(await proc.waitForLine((l) => l.includes('"reloaded"'))) as Event;
  expect(reloaded.aliases).toEqual(['mana/fast-text', 'mana/second']);
  expect(reloaded.version).not.toBe(ready.version);
  expect(reloaded.error).toBeNull();
  expect(proc.child.exitCode).toBeNull();
});

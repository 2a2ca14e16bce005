import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MANA = new URL('../../apps/cli/bin/mana.js', import.meta.url).pathname;
const fixture = (name: string) => new URL(`../fixtures/aliases/${name}`, import.meta.url).pathname;

async function mana(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MANA, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('mana aliases check', () => {
  it('accepts a valid file with exit 0', async () => {
    const { code, stdout } = await mana('aliases', 'check', fixture('valid.yaml'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/valid\.yaml: ok \(2 aliases, default mana\/fast-text, version [0-9a-f]{12}\)/);
  });

  it('prints each error with file:line:col and exits 1', async () => {
    const file = fixture('invalid-provider.yaml');
    const { code, stdout } = await mana('aliases', 'check', file);
    expect(code).toBe(1);
    expect(stdout).toContain(`${file}:7:13: error: aliases.mana/fast-text.chain[0]: alias "mana/fast-text": target "ollama-gpu/gemma3:4b" has unknown provider "ollama-gpu"`);
    expect(stdout).toContain(`${file}: invalid (1 error)`);
  });

  it('checks several files and fails if any is invalid', async () => {
    const { code, stdout } = await mana('aliases', 'check', fixture('valid.yaml'), fixture('invalid-provider.yaml'));
    expect(code).toBe(1);
    expect(stdout).toContain('valid.yaml: ok');
  });

  it('says how to use it when no file is given', async () => {
    const { code, stdout } = await mana('aliases', 'check');
    expect(code).toBe(2);
    expect(stdout).toContain('usage: mana aliases check FILE');
  });

  it('rejects an unknown command', async () => {
    const { code, stderr } = await mana('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command: frobnicate');
  });
});

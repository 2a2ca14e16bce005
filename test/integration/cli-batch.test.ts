import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

const run = promisify(execFile);
const MANA = new URL('../../apps/cli/bin/mana.js', import.meta.url).pathname;
let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 2, ollama: { perTokenMs: 20 } });
  dir = await mkdtemp(join(tmpdir(), 'mana-cli-batch-'));
});
afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

async function mana(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MANA, '--url', stack.api.url, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const line = (id: string, text: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: text }] } });

describe('mana batch submit', () => {
  it('uploads, runs and waits with a progress bar, writes the results, and exits 0', async () => {
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    await writeFile(input, Array.from({ length: 10 }, (_, i) => line(`r${i}`, `item ${i} a b c`)).join('\n'));
    const { code, stdout, stderr } = await mana('batch', 'submit', input, '--model', 'mana/long-form', '--wait', '--out', output);
    expect(code).toBe(0);
    expect(stdout).toMatch(/batch batch_[0-9a-f]+ created from .*in\.jsonl \(\/v1\/chat\/completions\)/);
    expect(stderr).toMatch(/\[#{24}\] 10\/10 done \(0 failed\) .* completed/);
    expect(stdout).toContain('all 10 items succeeded');
    const results = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; response: { body: { model: string } } });
    expect(results.map((r) => r.custom_id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
    // --model applied to every line: mana/long-form starts on gemma3:12b.
    expect(new Set(results.map((r) => r.response.body.model))).toEqual(new Set(['ollama/gemma3:12b']));
  });

  it("passes --window as the completion window, and a bad one comes back as the gateway's error naming the field", async () => {
    const input = join(dir, 'w.jsonl');
    await writeFile(input, line('w', 'short window'));
    const ok = await mana('batch', 'submit', input, '--window', '2h', '--wait');
    expect(ok.code).toBe(0);
    const id = /batch (batch_[0-9a-f]+) created/.exec(ok.stdout)?.[1];
    const batch = (await (await fetch(`${stack.baseURL}/batches/${id}`)).json()) as { completion_window: string };
    expect(batch.completion_window).toBe('2h');
    const bad = await mana('batch', 'submit', input, '--window', 'soon');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain('completion_window');
  });

  it('exits 1 and says how many items failed', async () => {
    const input = join(dir, 'bad.jsonl');
    await writeFile(input, [line('ok', 'fine'), '{broken', line('ok', 'duplicate id')].join('\n'));
    const { code, stdout } = await mana('batch', 'submit', input, '--wait');
    expect(code).toBe(1);
    expect(stdout).toContain('2 of 3 items failed');
  });
});

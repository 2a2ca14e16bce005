import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

const run = promisify(execFile);
const MANA = new URL('../../apps/cli/bin/mana.js', import.meta.url).pathname;
const ADMIN = 'admin-key-0123456789';
const CLIENT = 'client-key-0123456789';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 60 }, env: { MANA_API_KEYS: `team:${CLIENT}`, MANA_ADMIN_KEY: ADMIN } });
});
afterAll(() => stack?.close());

async function mana(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, MANA_URL: stack.api.url, MANA_API_KEY: CLIENT, MANA_ADMIN_KEY: ADMIN };
  try {
    const { stdout, stderr } = await run(process.execPath, [MANA, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function submit(text: string): Promise<string> {
  const res = await fetch(`${stack.api.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'chat', priority: 'batch', request: { messages: [{ role: 'user', content: text }] } }),
  });
  return ((await res.json()) as { id: string }).id;
}

describe('mana CLI against a running gateway', () => {
  it('mana jobs get shows a job with its hops; mana jobs cancel cancels one', async () => {
    // A long job holds the one GPU slot, so the next one waits through both CLI calls.
    const running = await submit(`keep busy ${'word '.repeat(80)}`);
    await expect.poll(() => stack.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    const waiting = await submit('wait for me');
    const got = await mana('jobs', 'get', waiting);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^${waiting}  queued \\(position 0\\)  mana/fast-text  batch`));
    expect(got.stdout).toContain('hop 0  ollama/gemma3:4b  first  queued');
    const cancelled = await mana('jobs', 'cancel', waiting);
    expect(cancelled.stdout).toContain(`${waiting}  cancelled`);
    await mana('jobs', 'cancel', running);
  });

  it('mana status shows GPUs, providers and queues', async () => {
    const { code, stdout } = await mana('status');
    expect(code).toBe(0);
    expect(stdout).toMatch(/GPUs\n {2}gpu0 +(up|not probed)/);
    expect(stdout).toMatch(/google +ok/);
    expect(stdout).toMatch(/ollama +\d+ +\d+/);
  });

  it('mana admin drains and resumes a GPU, and reloads aliases', async () => {
    expect((await mana('admin', 'drain', 'gpu0')).stdout).toContain('"drained": true');
    expect((await mana('status')).stdout).toMatch(/gpu0 +drained/);
    expect((await mana('admin', 'resume', 'gpu0')).stdout).toContain('"drained": false');
    expect((await mana('admin', 'reload-aliases')).stdout).toContain('"ok": true');
  });

  it("says what went wrong, with the gateway's message, and exits 1", async () => {
    const missing = await mana('jobs', 'get', 'job_nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('mana: 404: no job job_nope');
    const noGpu = await mana('admin', 'drain', 'gpu7');
    expect(noGpu.stderr).toContain('GPUs: gpu0');
    const unreachable = await mana('--url', 'http://127.0.0.1:9', 'status');
    expect(unreachable.stderr).toContain('cannot reach the gateway at http://127.0.0.1:9');
  });
});

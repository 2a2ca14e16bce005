import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type SpawnedProcess, type Stack, deletePrefix, spawnTs, startStack, testPrefix, testRedisEnv } from '@mana/testing';

const DEMO = new URL('../../apps/demo/src/main.ts', import.meta.url).pathname;
const GATEWAY = new URL('../../apps/gateway/src/main.ts', import.meta.url).pathname;

let proc: SpawnedProcess | undefined;
let stack: Stack | undefined;
afterEach(async () => {
  proc?.child.kill('SIGKILL');
  await stack?.close();
  stack = undefined;
});

async function ask(baseURL: string): Promise<OpenAI.Chat.ChatCompletion> {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  return client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'hello from the readme' }] });
}

describe('the README commands', () => {
  it('npm run demo: serves real completions through emulators, says so, and stops on Ctrl-C', async () => {
    const prefix = testPrefix();
    proc = spawnTs(DEMO, [], { ...testRedisEnv(), MANA_REDIS_PREFIX: prefix, PORT: '0' });
    const line = await proc.waitForLine((l) => l.includes('gateway (OpenAI-compatible)'));
    expect(proc.lines.join('\n')).toContain('EMULATORS stand in for Ollama');
    const baseURL = /(http:\/\/\S+\/v1)/.exec(line)?.[1] ?? '';
    const answer = await ask(baseURL);
    expect(answer.choices[0]?.message.content).toBe('Echo from gemma3:4b: hello from the readme');
    proc.child.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    await deletePrefix(prefix);
  });

  it('npm start: API and workers in one process against the configured providers', async () => {
    stack = await startStack({ gpus: 1, workers: 0 });
    proc = spawnTs(GATEWAY, [], stack.env);
    const listening = await proc.waitForLine((l) => l.includes('"api listening"'));
    const { url } = JSON.parse(listening) as { url: string };
    const answer = await ask(`${url}/v1`);
    expect(answer.model).toBe('ollama/gemma3:4b');
    // One structured line per request, with the job it made, and never the prompt.
    const logged = JSON.parse(await proc.waitForLine((l) => l.includes('"request completed"'))) as {
      req: { id: string; url: string };
      res: { status: number; jobId: string; provider: string };
    };
    expect(logged.req.url).toBe('/v1/chat/completions');
    expect(logged.req.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(logged.res).toMatchObject({ status: 200, provider: 'ollama' });
    expect(logged.res.jobId).toMatch(/^job_/);
    expect(proc.lines.join('\n')).not.toContain('hello from the readme');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('a bad environment stops the process with one line per bad variable', async () => {
    proc = spawnTs(GATEWAY, [], { OLLAMA_MAX_CONCURRENT: 'lots', AUTO_FALLBACK_ENABLED: 'perhaps' });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain('OLLAMA_MAX_CONCURRENT: expected a whole number ≥ 1; got "lots"');
    expect(proc.stderr()).toContain('AUTO_FALLBACK_ENABLED: expected true or false; got "perhaps"');
  });
});

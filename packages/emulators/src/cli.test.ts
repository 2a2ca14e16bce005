import { afterEach, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import { type SpawnedProcess, spawnTs } from '@mana/testing';

const CLI = new URL('./cli.ts', import.meta.url).pathname;
let proc: SpawnedProcess | undefined;
afterEach(() => void proc?.child.kill('SIGKILL'));

it('mana-emulator ollama --slots 3 starts a server the real ollama SDK can use', async () => {
  proc = spawnTs(CLI, ['ollama', '--port', '0', '--slots', '3']);
  const line = await proc.waitForLine((l) => l.includes('listening on'));
  const url = /listening on (\S+)/.exec(line)?.[1];
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const client = new Ollama({ host: url });
  await Promise.all(Array.from({ length: 6 }, () => client.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'hi' }] })));
  const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as { maxBusySlots: number };
  expect(stats.maxBusySlots).toBeLessThanOrEqual(3);
  expect((await client.version()).version).toBe('0.12.6');
});

it('mana-emulator rejects a bad flag value with a clear message', async () => {
  proc = spawnTs(CLI, ['ollama', '--slots', 'many']);
  expect(await proc.exited).toBe(2);
  expect(proc.stderr()).toContain('--slots expects a whole number');
});

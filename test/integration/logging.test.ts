import { afterEach, expect, it } from 'vitest';
import { type SpawnedProcess, spawnTs } from '@mana/testing';

// Log lines are gathered and written together (packages/logging): none may be lost when a process
// ends on its own, and none may wait for others that never come.
const CHILD = new URL('../fixtures/log-lines-child.ts', import.meta.url).pathname;
let proc: SpawnedProcess | undefined;
afterEach(() => {
  proc?.child.kill('SIGKILL');
  proc = undefined;
});

const numbers = (lines: string[]) => lines.map((line) => (JSON.parse(line) as { i: number }).i);

it('writes every line gathered when the process exits', async () => {
  proc = spawnTs(CHILD, ['exit', '200']);
  expect(await proc.exited).toBe(0);
  // stdout has ended once the process has; lines are read as they come.
  await expect.poll(() => proc!.lines.length).toBe(200);
  expect(numbers(proc.lines)).toEqual([...Array(200).keys()]);
});

it('writes the lines logged before an uncaught exception ends the process', async () => {
  proc = spawnTs(CHILD, ['throw', '3']);
  expect(await proc.exited).toBe(1);
  await expect.poll(() => proc!.lines.length).toBe(3);
  expect(numbers(proc.lines)).toEqual([0, 1, 2]);
  expect(proc.stderr()).toContain('thrown after logging');
});

it('writes a lone line of a running process without waiting for more', async () => {
  proc = spawnTs(CHILD, ['stay', '1']);
  const line = await proc.waitForLine((l) => l.includes('"msg":"line"'));
  expect(JSON.parse(line)).toMatchObject({ level: 30, name: 'log-lines', i: 0 });
});

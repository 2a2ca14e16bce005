import { expect, it } from 'vitest';
import { lines } from './files.js';

async function* chunks(...parts: string[]): AsyncIterable<Buffer> {
  for (const part of parts) yield Buffer.from(part);
}

async function all(source: AsyncIterable<{ number: number; text: string; tooLong?: true }>) {
  const out: Array<{ number: number; text: string; tooLong?: true }> = [];
  for await (const line of source) out.push(line);
  return out;
}

it('splits JSONL across chunk boundaries, numbering lines and dropping CR', async () => {
  expect(await all(lines(chunks('{"a":1}\r\n{"b', '":2}\n\n{"c":3}')))).toEqual([
    { number: 1, text: '{"a":1}' },
    { number: 2, text: '{"b":2}' },
    { number: 3, text: '' },
    { number: 4, text: '{"c":3}' },
  ]);
});

it('reports a line longer than the limit without holding it, and goes on with the next', async () => {
  const long = 'x'.repeat(25);
  expect(await all(lines(chunks('ok\n', long.slice(0, 12), long.slice(12), '\nnext\n', long), 10))).toEqual([
    { number: 1, text: 'ok' },
    { number: 2, text: '', tooLong: true },
    { number: 3, text: 'next' },
    { number: 4, text: '', tooLong: true },
  ]);
});

it('keeps multi-byte characters whole when a chunk splits them', async () => {
  const bytes = Buffer.from('é\n');
  async function* split() {
    yield bytes.subarray(0, 1);
    yield bytes.subarray(1);
  }
  expect(await all(lines(split()))).toEqual([{ number: 1, text: 'é' }]);
});

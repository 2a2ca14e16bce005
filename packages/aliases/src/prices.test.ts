import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { costUsd, loadPriceFile } from './prices.js';

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'prices-')), 'prices.yaml');
  writeFileSync(path, text);
  return path;
};

it('reads the shipped prices: dated, and a price for every cloud target aliases.yaml ships', () => {
  const shipped = loadPriceFile(new URL('../../../prices.yaml', import.meta.url).pathname);
  expect(shipped.ok).toBe(true);
  if (!shipped.ok) return;
  expect(shipped.table.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(costUsd(shipped.table, 'google/gemini-2.0-flash', 1_000_000, 1_000_000)).toBeCloseTo(0.5, 9);
  expect(costUsd(shipped.table, 'google/no-such-model', 10, 10)).toBeUndefined();
});

it('names the file and the entry at fault', () => {
  const bad = loadPriceFile(file('as_of: "2026-01-01"\nprices:\n  google/gemini-2.0-flash: { input: -1, output: 0.4 }\n'));
  expect(bad).toEqual({ ok: false, error: expect.stringMatching(/prices\.yaml: prices\.google\/gemini-2\.0-flash\.input: .*0/) });
  const undated = loadPriceFile(file('prices: {}\n'));
  expect(undated.ok ? '' : undated.error).toContain('as_of');
  expect(loadPriceFile('/nonexistent/prices.yaml')).toEqual({ ok: false, error: 'cannot read /nonexistent/prices.yaml: ENOENT' });
});

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

const PriceSchema = z.strictObject({
  /** US dollars per million prompt tokens. */
  input: z.number().min(0),
  /** US dollars per million completion tokens. */
  output: z.number().min(0),
});
export type Price = z.infer<typeof PriceSchema>;

export const PriceFileSchema = z.strictObject({
  /** When these prices were read off the providers' pages (they change). */
  as_of: z.string().min(1),
  /** By target, `provider/model`. */
  prices: z.record(z.string().regex(/^[a-z]+\/.+/, { error: 'expected provider/model' }), PriceSchema).default({}),
});

export interface PriceTable {
  asOf: string | null;
  byTarget: Readonly<Record<string, Price>>;
}

export const NO_PRICES: PriceTable = { asOf: null, byTarget: {} };

export type PriceLoadResult = { ok: true; table: PriceTable } | { ok: false; error: string };

/** Reads a prices file (see the shipped prices.yaml); an error names the file and the entry at fault. */
export function loadPriceFile(path: string): PriceLoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    return { ok: false, error: `${path}: YAML syntax: ${(err as Error).message.split('\n')[0]}` };
  }
  const parsed = PriceFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${path}: ${issue.path.join('.') || '(top)'}: ${issue.message}` };
  }
  return { ok: true, table: { asOf: parsed.data.as_of, byTarget: parsed.data.prices } };
}

/** US dollars for these tokens on this target; undefined when the table has no price for it. */
export function costUsd(table: PriceTable, target: string, promptTokens: number, completionTokens: number): number | undefined {
  const price = table.byTarget[target];
  if (!price) return undefined;
  return (promptTokens * price.input + completionTokens * price.output) / 1e6;
}

import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { AliasIssue } from './issue.js';
import { AliasFileSchema } from './schema.js';
import { type AliasTable, buildAliasTable } from './table.js';
import { validateAliasFile } from './validate.js';
import { LineCounter, findDuplicateKeys, locate } from './yaml-locate.js';

export type AliasLoadResult = { ok: true; table: AliasTable; warnings: AliasIssue[] } | { ok: false; issues: AliasIssue[] };

/**
 * YAML → structure (zod) → cross-field rules → immutable table. Every issue
 * carries the YAML path and, where the file has it, a line and column.
 */
export function parseAliasFile(text: string, source: string): AliasLoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { severity: 'error', path: [], message: `YAML syntax: ${firstLine(e.message)}`, line: pos?.line, column: pos?.col };
      }),
    };
  }
  const duplicates = findDuplicateKeys(doc, lines);
  if (duplicates.length > 0) return { ok: false, issues: duplicates };

  const structure = AliasFileSchema.safeParse(doc.toJS() ?? {});
  const issues: AliasIssue[] = structure.success
    ? validateAliasFile(structure.data)
    : structure.error.issues.map((i) => {
        // An unknown key is reported on its parent; point at the key itself.
        const extra = i.code === 'unrecognized_keys' && i.keys.length === 1 ? [i.keys[0] as string] : [];
        return { severity: 'error' as const, path: [...i.path.map(toSegment), ...extra], message: i.message };
      });
  for (const issue of issues) Object.assign(issue, positionOf(doc, lines, issue));

  const errors = issues.filter((i) => i.severity === 'error');
  if (!structure.success || errors.length > 0) return { ok: false, issues: errors };
  const warnings = issues.filter((i) => i.severity === 'warning');
  return { ok: true, table: buildAliasTable(structure.data, text, source), warnings };
}

export async function loadAliasFile(path: string): Promise<AliasLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    return { ok: false, issues: [{ severity: 'error', path: [], message: `cannot read ${path}: ${reason}` }] };
  }
  return parseAliasFile(text, path);
}

function positionOf(doc: Parameters<typeof locate>[0], lines: LineCounter, issue: AliasIssue) {
  const pos = locate(doc, lines, issue.path);
  return pos ? { line: pos.line, column: pos.column } : {};
}

function toSegment(key: PropertyKey): string | number {
  return typeof key === 'number' ? key : String(key);
}

/** The parser's first line, without the position it repeats (we print our own). */
function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

import { type Document, LineCounter, type Node, isMap, isPair, isScalar, isSeq, visit } from 'yaml';
import type { AliasIssue, PathSegment } from './issue.js';

export interface Position {
  line: number;
  column: number;
}

/**
 * The position of the deepest node along `path` that exists in the document,
 * so a missing key still points at the map it is missing from.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PathSegment[]): Position | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    const next = child(node, segment);
    if (next === undefined) break;
    node = next.value;
    offset = next.keyOffset ?? rangeStart(node) ?? offset;
  }
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function child(node: unknown, segment: PathSegment): { value: unknown; keyOffset?: number } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    if (!pair) return undefined;
    // Point at the value when it exists, else at the key (e.g. `chain:` with nothing after it).
    const valueOffset = rangeStart(pair.value);
    return valueOffset === undefined ? { value: pair.value, keyOffset: rangeStart(pair.key) } : { value: pair.value };
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/**
 * Duplicate keys anywhere in the file. The YAML parser would stop at the
 * first one with a generic message; we report every one with its path, e.g.
 * a second `mana/fast-text` under `aliases`.
 */
export function findDuplicateKeys(doc: Document, lines: LineCounter): AliasIssue[] {
  const issues: AliasIssue[] = [];
  visit(doc, {
    Map(_key, map, ancestors) {
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        const offset = pair.key.range?.[0] ?? 0;
        const first = seen.get(name);
        if (first === undefined) {
          seen.set(name, offset);
          continue;
        }
        const path = [...pathOf(ancestors), name];
        const firstLine = lines.linePos(first).line;
        const what = path[0] === 'aliases' && path.length === 2 ? `duplicate alias "${name}"` : `duplicate key "${name}"`;
        const { line, col } = lines.linePos(offset);
        issues.push({ severity: 'error', path, message: `${what} (first defined on line ${firstLine})`, line, column: col });
      }
    },
  });
  return issues;
}

function pathOf(ancestors: readonly unknown[]): PathSegment[] {
  const path: PathSegment[] = [];
  ancestors.forEach((node, i) => {
    if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value));
    const parent = ancestors[i - 1];
    if (isSeq(parent)) path.push(parent.items.indexOf(node as never));
  });
  return path;
}

export { LineCounter };

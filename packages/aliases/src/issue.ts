export type PathSegment = string | number;

/** One problem found in an aliases file, with where it is. */
export interface AliasIssue {
  /** Warnings are printed but do not stop a load. */
  severity: 'error' | 'warning';
  /** YAML path, e.g. ['aliases', 'mana/fast-text', 'chain', 1]. */
  path: PathSegment[];
  message: string;
  /** 1-based position in the file, when the path could be found there. */
  line?: number;
  column?: number;
}

/** `aliases.mana/fast-text.chain[1]` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(file)' : out;
}

/** `aliases.yaml:12:7: error: aliases.mana/x.chain: chain is empty` — the form editors jump to. */
export function formatIssue(issue: AliasIssue, source: string): string {
  const where = issue.line === undefined ? source : `${source}:${issue.line}:${issue.column ?? 1}`;
  return `${where}: ${issue.severity}: ${formatPath(issue.path)}: ${issue.message}`;
}

import { formatIssue, loadAliasFile } from '@mana/aliases';

/**
 * `mana aliases check FILE…`: validates aliases files without starting
 * anything (like `nginx -t`). Prints every problem as file:line:col and
 * returns the exit code: 0 when every file is valid, 1 otherwise.
 */
export async function checkAliases(files: readonly string[], out: (line: string) => void): Promise<number> {
  if (files.length === 0) {
    out('usage: mana aliases check FILE [FILE…]');
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    const result = await loadAliasFile(file);
    if (!result.ok) {
      failed++;
      for (const issue of result.issues) out(formatIssue(issue, file));
      out(`${file}: invalid (${result.issues.length} error${result.issues.length === 1 ? '' : 's'})`);
      continue;
    }
    for (const warning of result.warnings) out(formatIssue(warning, file));
    const aliases = Object.keys(result.table.aliases).length;
    out(`${file}: ok (${aliases} aliases, default ${result.table.defaultAlias}, version ${result.table.version})`);
  }
  return failed > 0 ? 1 : 0;
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssue, formatPath } from './issue.js';
import { type AliasLoadResult, loadAliasFile, parseAliasFile } from './load.js';
import type { AliasIssue } from './issue.js';

const VALID = readFileSync(new URL('../../../test/fixtures/aliases/valid.yaml', import.meta.url), 'utf8');

function issuesOf(result: AliasLoadResult): AliasIssue[] {
  if (result.ok) throw new Error('expected the file to be rejected');
  return result.issues;
}

/** The one issue of a rejected file, formatted as the check command prints it. */
function onlyIssue(yaml: string): { issue: AliasIssue; line: string } {
  const issues = issuesOf(parseAliasFile(yaml, 'test.yaml'));
  expect(issues).toHaveLength(1);
  const issue = issues[0] as AliasIssue;
  return { issue, line: formatIssue(issue, 'test.yaml') };
}

/** The valid fixture with one more alias, inserted before model_map. */
function withExtraAlias(name: string, body: string): string {
  const [head, tail] = VALID.split('model_map:');
  return `${head}  ${name}:\n${body.replace(/^/gm, '    ')}\nmodel_map:${tail}`;
}

describe('parseAliasFile: the happy path', () => {
  it('loads aliases with their chains, kinds and capabilities', () => {
    const result = parseAliasFile(VALID, 'valid.yaml');
    if (!result.ok) throw new Error(result.issues.map((i) => formatIssue(i, 'valid.yaml')).join('\n'));
    const fast = result.table.aliases['mana/fast-text'];
    expect(fast?.chain.map((t) => t.id)).toEqual(['ollama/gemma3:4b', 'google/gemini-2.0-flash']);
    expect(fast?.chain[0]).toEqual({ provider: 'ollama', model: 'gemma3:4b', id: 'ollama/gemma3:4b' });
    expect(fast?.kind).toBe('chat');
    expect(result.table.aliases['mana/embed']?.kind).toBe('embedding');
    expect(result.table.defaultAlias).toBe('mana/fast-text');
    expect(result.table.defaultEmbeddingAlias).toBe('mana/embed');
    expect(result.table.modelMap['gemma3:4b']).toBe('gemini-2.0-flash');
    expect(result.warnings).toEqual([]);
  });

  it('gives equal files equal versions and different files different ones', () => {
    const a = parseAliasFile(VALID, 'a.yaml');
    const b = parseAliasFile(VALID, 'b.yaml');
    const c = parseAliasFile(`${VALID}\n# a comment changes the version\n`, 'c.yaml');
    if (!a.ok || !b.ok || !c.ok) throw new Error('expected valid files');
    expect(a.table.version).toBe(b.table.version);
    expect(c.table.version).not.toBe(a.table.version);
  });

  it('freezes the table so no reader can change it', () => {
    const result = parseAliasFile(VALID, 'valid.yaml');
    if (!result.ok) throw new Error('expected valid');
    expect(Object.isFrozen(result.table.aliases['mana/fast-text']?.chain)).toBe(true);
    expect(() => {
      (result.table.aliases as Record<string, unknown>)['mana/new'] = {};
    }).toThrow(TypeError);
  });

  it('keeps model names that contain slashes whole', () => {
    const yaml = VALID.replace('models:\n', 'models:\n  openrouter/deepseek/deepseek-r1: { kind: chat }\n').replace(
      '[ollama/gemma3:4b, google/gemini-2.0-flash]',
      '[ollama/gemma3:4b, openrouter/deepseek/deepseek-r1]',
    );
    const result = parseAliasFile(yaml, 'x.yaml');
    if (!result.ok) throw new Error(result.issues.map((i) => i.message).join());
    expect(result.table.aliases['mana/fast-text']?.chain[1]).toEqual({
      provider: 'openrouter',
      model: 'deepseek/deepseek-r1',
      id: 'openrouter/deepseek/deepseek-r1',
    });
  });

  it('warns, without failing, about a chain that ends on the local GPUs', () => {
    const result = parseAliasFile(withExtraAlias('mana/local-only', 'chain: [ollama/gemma3:4b]'), 'x.yaml');
    if (!result.ok) throw new Error('expected a load with warnings');
    expect(result.warnings).toHaveLength(1);
    expect(formatIssue(result.warnings[0] as AliasIssue, 'x.yaml')).toMatch(/warning: aliases\.mana\/local-only\.chain: .*GPUs are offline/);
  });
});

describe('parseAliasFile rejects, naming the alias and the YAML path', () => {
  it('an empty chain', () => {
    const { line } = onlyIssue(withExtraAlias('mana/empty', 'chain: []'));
    expect(line).toMatch(/^test\.yaml:\d+:\d+: error: aliases\.mana\/empty\.chain: alias "mana\/empty" has an empty chain/);
  });

  it('a missing chain', () => {
    const { issue } = onlyIssue(withExtraAlias('mana/nochain', 'kind: chat'));
    expect(formatPath(issue.path)).toBe('aliases.mana/nochain.chain');
    expect(issue.line).toBeGreaterThan(0);
  });

  it('a target with an unknown provider prefix', () => {
    const { line } = onlyIssue(withExtraAlias('mana/typo', 'chain: [gogle/gemini-2.0-flash]'));
    expect(line).toContain('aliases.mana/typo.chain[0]: alias "mana/typo": target "gogle/gemini-2.0-flash" has unknown provider "gogle"');
    expect(line).toContain('known: ollama, google, openrouter, groq, together');
  });

  it('a target without any provider prefix', () => {
    const { line } = onlyIssue(withExtraAlias('mana/bare', 'chain: [gemma3:4b]'));
    expect(line).toContain('aliases.mana/bare.chain[0]: alias "mana/bare": target "gemma3:4b" is not of the form provider/model');
  });

  it('an alias name outside the mana/ namespace', () => {
    const { line } = onlyIssue(withExtraAlias('fast-text', 'chain: [google/gemini-2.0-flash]'));
    expect(line).toContain('aliases.fast-text: alias "fast-text" is outside the reserved namespace');
  });

  it.each(['openai/gpt-4o', 'mana/Fast', 'mana/', 'mana/a/b'])('the alias name %s', (name) => {
    const { issue } = onlyIssue(withExtraAlias(name, 'chain: [google/gemini-2.0-flash]'));
    expect(formatPath(issue.path)).toBe(`aliases.${name}`);
    expect(issue.message).toContain('reserved namespace');
  });

  it('a default that names an unknown alias', () => {
    const { line, issue } = onlyIssue(VALID.replace('default: mana/fast-text', 'default: mana/fastest'));
    expect(line).toContain('default: default names "mana/fastest", which is not an alias in this file');
    expect(line).toContain('mana/fast-text, mana/embed');
    expect(issue.line).toBe(2);
  });

  it('a default that names an embedding alias', () => {
    const { issue } = onlyIssue(VALID.replace('default: mana/fast-text', 'default: mana/embed'));
    expect(issue.message).toContain('must be a chat alias');
  });

  it('a duplicate alias, pointing at the second definition', () => {
    const { line, issue } = onlyIssue(withExtraAlias('mana/fast-text', 'chain: [google/gemini-2.0-flash]'));
    expect(line).toContain('aliases.mana/fast-text: duplicate alias "mana/fast-text" (first defined on line 10)');
    expect(issue.line).toBeGreaterThan(10);
  });

  it('the same target twice in one chain', () => {
    const { line } = onlyIssue(withExtraAlias('mana/twice', 'chain: [google/gemini-2.0-flash, google/gemini-2.0-flash]'));
    expect(line).toContain('aliases.mana/twice.chain[1]: alias "mana/twice" lists "google/gemini-2.0-flash" twice');
  });

  it('a target whose kind cannot serve the alias', () => {
    const { line } = onlyIssue(withExtraAlias('mana/mixed', 'chain: [ollama/gemma3:4b, google/text-embedding-004]'));
    expect(line).toContain('aliases.mana/mixed.chain[1]: alias "mana/mixed": target "google/text-embedding-004" is a embedding model but the alias is of kind chat');
  });

  it('a target lacking a capability the alias requires', () => {
    const { line } = onlyIssue(withExtraAlias('mana/json', 'capabilities: [structured_output]\nchain: [ollama/gemma3:4b, google/gemini-2.0-flash]'));
    expect(line).toContain('aliases.mana/json.chain[0]: alias "mana/json": target "ollama/gemma3:4b" lacks structured_output');
  });

  it('a target not described under models', () => {
    const { line } = onlyIssue(withExtraAlias('mana/new', 'chain: [google/gemini-9]'));
    expect(line).toContain('aliases.mana/new.chain[0]: alias "mana/new": target "google/gemini-9" is not described under models');
  });

  it('an embedding chain that mixes vector dimensions', () => {
    const yaml = withExtraAlias('mana/embed-mixed', 'kind: embedding\nchain: [ollama/nomic-embed-text, google/small-embed]').replace(
      'models:\n',
      'models:\n  google/small-embed: { kind: embedding, dimensions: 256 }\n',
    );
    const { line } = onlyIssue(yaml);
    expect(line).toContain('aliases.mana/embed-mixed.chain[1]: alias "mana/embed-mixed" mixes vector dimensions');
    expect(line).toContain('gives 256');
    expect(line).toContain('gives 768');
  });

  it('an embedding model without dimensions', () => {
    const { line } = onlyIssue(VALID.replace('models:\n', 'models:\n  google/e2: { kind: embedding }\n'));
    expect(line).toContain('models.google/e2: embedding model "google/e2" needs dimensions');
  });

  it('a chat model with dimensions', () => {
    const { line } = onlyIssue(VALID.replace('models:\n', 'models:\n  google/c2: { kind: chat, dimensions: 5 }\n'));
    expect(line).toContain('models.google/c2.dimensions: chat model "google/c2" cannot have dimensions');
  });

  it('an unknown key inside an alias, pointing at the key', () => {
    const { line, issue } = onlyIssue(withExtraAlias('mana/typo', 'chian: [google/gemini-2.0-flash]\nchain: [google/gemini-2.0-flash]'));
    expect(line).toContain('aliases.mana/typo.chian: Unrecognized key: "chian"');
    expect(issue.line).toBe(VALID.split('\n').findIndex((l) => l.startsWith('model_map')) + 2);
  });

  it('an unknown top-level key', () => {
    const { issue } = onlyIssue(`${VALID}defaults: mana/fast-text\n`);
    expect(formatPath(issue.path)).toBe('defaults');
    expect(issue.message).toContain('Unrecognized key');
  });

  it('an unknown capability', () => {
    const { issue } = onlyIssue(withExtraAlias('mana/see', 'capabilities: [eyes]\nchain: [google/gemini-2.0-flash]'));
    expect(formatPath(issue.path)).toBe('aliases.mana/see.capabilities[0]');
    expect(issue.message).toContain('vision');
  });

  it('an unknown kind', () => {
    const { issue } = onlyIssue(withExtraAlias('mana/k', 'kind: rerank\nchain: [google/gemini-2.0-flash]'));
    expect(formatPath(issue.path)).toBe('aliases.mana/k.kind');
  });

  it('a wrong version', () => {
    const { issue } = onlyIssue(VALID.replace('version: 1', 'version: 2'));
    expect(formatPath(issue.path)).toBe('version');
    expect(issue.line).toBe(1);
  });

  it('a model_map entry pointing at an undescribed Gemini model', () => {
    const { line } = onlyIssue(VALID.replace('gemma3:4b: gemini-2.0-flash', 'gemma3:4b: gemini-1.0'));
    expect(line).toContain('model_map.gemma3:4b: model_map sends "gemma3:4b" to "google/gemini-1.0"');
  });

  it('a model_map entry that sends an embedding model to a chat model', () => {
    const { line } = onlyIssue(VALID.replace('nomic-embed-text: text-embedding-004', 'nomic-embed-text: gemini-2.0-flash'));
    expect(line).toContain('model_map.nomic-embed-text: model_map sends the embedding model "nomic-embed-text" to the chat model');
  });

  it('a model_map key with the provider prefix', () => {
    const { issue } = onlyIssue(VALID.replace('gemma3:4b: gemini-2.0-flash', 'ollama/gemma3:4b: gemini-2.0-flash'));
    expect(issue.message).toContain('bare Ollama model names');
  });

  it('a YAML syntax error, with its line', () => {
    const issues = issuesOf(parseAliasFile('version: 1\naliases:\n  mana/x: [\n', 'bad.yaml'));
    expect(issues[0]?.message).toMatch(/^YAML syntax: /);
    expect(issues[0]?.line).toBeGreaterThan(0);
  });

  it('an empty file', () => {
    const issues = issuesOf(parseAliasFile('', 'empty.yaml'));
    expect(issues.map((i) => formatPath(i.path))).toEqual(expect.arrayContaining(['version', 'default', 'aliases']));
  });

  it('reports every problem of a file in one pass', () => {
    const yaml = withExtraAlias('mana/a', 'chain: []').replace('default: mana/fast-text', 'default: mana/zzz');
    expect(issuesOf(parseAliasFile(yaml, 'x.yaml'))).toHaveLength(2);
  });
});

describe('loadAliasFile', () => {
  it('reads a file from disk', async () => {
    const result = await loadAliasFile(new URL('../../../test/fixtures/aliases/valid.yaml', import.meta.url).pathname);
    expect(result.ok).toBe(true);
  });

  it('says when the file is missing', async () => {
    const issues = issuesOf(await loadAliasFile('/nonexistent/aliases.yaml'));
    expect(issues[0]?.message).toBe('cannot read /nonexistent/aliases.yaml: file not found');
  });
});

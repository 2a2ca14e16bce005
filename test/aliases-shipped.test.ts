import { describe, expect, it } from 'vitest';
import { formatIssue, isCloudTarget, loadAliasFile, resolveModel } from '@mana/aliases';

const SHIPPED = new URL('../aliases.yaml', import.meta.url).pathname;

describe('the shipped aliases.yaml', async () => {
  const result = await loadAliasFile(SHIPPED);
  const table = result.ok ? result.table : undefined;

  it('loads without errors or warnings', () => {
    if (!result.ok) throw new Error(result.issues.map((i) => formatIssue(i, 'aliases.yaml')).join('\n'));
    expect(result.warnings.map((w) => formatIssue(w, 'aliases.yaml'))).toEqual([]);
  });

  it('has the five aliases of the original design plus an embedding alias', () => {
    expect(Object.keys(table?.aliases ?? {})).toEqual(
      expect.arrayContaining(['mana/fast-text', 'mana/long-form', 'mana/structured', 'mana/reasoning', 'mana/vision', 'mana/embed']),
    );
    expect(table?.aliases['mana/embed']?.kind).toBe('embedding');
    expect(table?.defaultAlias).toBe('mana/fast-text');
  });

  it('starts every chain on the GPUs and ends it in the cloud', () => {
    for (const alias of Object.values(table?.aliases ?? {})) {
      expect(alias.chain[0]?.provider, alias.name).toBe('ollama');
      expect(isCloudTarget(alias.chain.at(-1)!), alias.name).toBe(true);
    }
  });

  it('keeps the original fallback of mana/fast-text', () => {
    expect(table?.aliases['mana/fast-text']?.chain.map((t) => t.id)).toEqual(['ollama/gemma3:4b', 'google/gemini-2.0-flash']);
  });

  it('maps the original bare Ollama models to their Gemini equivalents', () => {
    const chat = { kind: 'chat' as const, googleDefaultModel: 'gemini-2.0-flash' };
    expect(resolveModel(table!, 'gemma3:4b', chat).chain.at(-1)?.id).toBe('google/gemini-2.0-flash');
    expect(resolveModel(table!, 'llava:7b', chat).chain.at(-1)?.id).toBe('google/gemini-2.0-flash');
    const embedding = { kind: 'embedding' as const, googleDefaultModel: 'gemini-2.0-flash' };
    expect(resolveModel(table!, 'nomic-embed-text', embedding).chain.at(-1)?.id).toBe('google/text-embedding-004');
  });
});

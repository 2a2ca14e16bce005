import { createHash } from 'node:crypto';
import type { AliasFile, Capability, Kind, ModelSpec } from './schema.js';
import { type Target, parseTarget } from './target.js';

export interface AliasEntry {
  name: string;
  kind: Kind;
  description: string | undefined;
  capabilities: readonly Capability[];
  chain: readonly Target[];
}

/** One validated, immutable aliases file. A reload swaps the whole table. */
export interface AliasTable {
  /** Short content hash of the file: equal files give equal versions. */
  version: string;
  loadedAt: string;
  source: string;
  defaultAlias: string;
  defaultEmbeddingAlias: string | undefined;
  aliases: Readonly<Record<string, AliasEntry>>;
  models: Readonly<Record<string, ModelSpec>>;
  /** Bare Ollama model name → Gemini model name. */
  modelMap: Readonly<Record<string, string>>;
}

/** Builds the table from a file that has already passed validation. */
export function buildAliasTable(file: AliasFile, text: string, source: string): AliasTable {
  const aliases: Record<string, AliasEntry> = {};
  for (const [name, spec] of Object.entries(file.aliases)) {
    aliases[name] = {
      name,
      kind: spec.kind,
      description: spec.description,
      capabilities: spec.capabilities,
      chain: spec.chain.map((id) => {
        const parsed = parseTarget(id);
        if (!parsed.ok) throw new Error(`unvalidated target ${id}`);
        return parsed.target;
      }),
    };
  }
  return deepFreeze({
    version: createHash('sha256').update(text).digest('hex').slice(0, 12),
    loadedAt: new Date().toISOString(),
    source,
    defaultAlias: file.default,
    defaultEmbeddingAlias: file.default_embedding,
    aliases,
    models: file.models,
    modelMap: file.model_map,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

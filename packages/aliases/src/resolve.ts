import { NotFoundError, ValidationError } from '@mana/errors';
import { isProviderId } from '@mana/config';
import type { Kind } from './schema.js';
import type { AliasTable } from './table.js';
import type { Target } from './target.js';

/** A requested model turned into the ordered targets that may serve it. */
export interface Resolution {
  /** What the client asked for (after applying the default). */
  requested: string;
  /** The alias used, or null when a target or bare model was named directly. */
  alias: string | null;
  kind: Kind;
  chain: readonly Target[];
}

export interface ResolveOptions {
  kind: Kind;
  /** Gemini model standing in for a bare Ollama chat model that model_map does not list. */
  googleDefaultModel: string;
}

/**
 * `mana/<class>` → the alias's chain; `provider/model` → that target alone
 * (Ollama targets still get their Gemini stand-in); anything else is a bare
 * Ollama model name, with model_map choosing its Gemini fallback.
 */
export function resolveModel(table: AliasTable, requested: string | undefined, options: ResolveOptions): Resolution {
  const name = requested?.trim() || defaultAliasFor(table, options.kind);
  if (name.startsWith('mana/')) return resolveAlias(table, name, options.kind);
  const slash = name.indexOf('/');
  const provider = slash > 0 ? name.slice(0, slash) : '';
  if (isProviderId(provider) && provider !== 'ollama') {
    return { requested: name, alias: null, kind: options.kind, chain: [{ provider, model: name.slice(slash + 1), id: name }] };
  }
  // Ollama names may contain a namespace ("library/gemma3"); only "ollama/" is our prefix.
  const bare = provider === 'ollama' ? name.slice(slash + 1) : name;
  const chain: Target[] = [{ provider: 'ollama', model: bare, id: `ollama/${bare}` }];
  const stand_in = geminiStandIn(table, bare, options);
  if (stand_in) chain.push({ provider: 'google', model: stand_in, id: `google/${stand_in}` });
  return { requested: name, alias: null, kind: options.kind, chain };
}

function resolveAlias(table: AliasTable, name: string, kind: Kind): Resolution {
  const alias = table.aliases[name];
  if (!alias) {
    throw new NotFoundError(`model "${name}" is not a known alias; known aliases: ${Object.keys(table.aliases).join(', ')}`, 'model_not_found');
  }
  if (alias.kind !== kind) {
    throw new ValidationError(`model "${name}" is a ${alias.kind} alias and cannot serve ${kind} requests`, 'model');
  }
  return { requested: name, alias: name, kind, chain: alias.chain };
}

function defaultAliasFor(table: AliasTable, kind: Kind): string {
  if (kind === 'chat') return table.defaultAlias;
  if (table.defaultEmbeddingAlias) return table.defaultEmbeddingAlias;
  throw new ValidationError('model is required: this gateway has no default embedding alias', 'model');
}

function geminiStandIn(table: AliasTable, model: string, options: ResolveOptions): string | undefined {
  const mapped = table.modelMap[model] ?? table.modelMap[model.replace(/:latest$/, '')];
  if (mapped) return mapped;
  // An unmapped embedding model has no safe stand-in: its vectors would live in another space.
  return options.kind === 'chat' ? options.googleDefaultModel : undefined;
}

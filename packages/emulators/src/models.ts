import { readFileSync } from 'node:fs';
import { parseAliasFile } from '@mana/aliases';
import type { ProviderId } from '@mana/config';

export interface EmulatedModel {
  name: string;
  kind: 'chat' | 'embedding';
  /** Vector length, for embedding models. */
  dimensions?: number | undefined;
  /** The longest prompt (in emulated tokens: words) it takes; longer ones get the provider's context-length error. */
  contextTokens?: number | undefined;
  /** Refuses a final assistant message (prefill), as Gemini 3.5 Flash-Lite does. */
  rejectsPrefill?: boolean | undefined;
  /** Has a fill-in-the-middle template (Ollama: generate with a suffix), as code models do. */
  insert?: boolean | undefined;
}

const SHIPPED_ALIASES = new URL('../../../aliases.yaml', import.meta.url);

/**
 * The models the shipped aliases.yaml names for a provider (its targets and,
 * for google, the model_map's stand-ins): what each emulator serves by default.
 */
export function shippedModels(provider: ProviderId): EmulatedModel[] {
  const loaded = parseAliasFile(readFileSync(SHIPPED_ALIASES, 'utf8'), 'aliases.yaml');
  if (!loaded.ok) throw new Error('the shipped aliases.yaml does not load; run: npx mana aliases check aliases.yaml');
  const prefix = `${provider}/`;
  return Object.entries(loaded.table.models)
    .filter(([id]) => id.startsWith(prefix))
    .map(([id, spec]) => ({ name: id.slice(prefix.length), kind: spec.kind, dimensions: spec.dimensions, contextTokens: spec.context }));
}

/** `name` and `name:latest` are the same Ollama model. */
export function sameOllamaModel(a: string, b: string): boolean {
  const tagged = (n: string) => (n.includes(':') ? n : `${n}:latest`);
  return tagged(a) === tagged(b);
}

export const DEFAULT_DIMENSIONS = 768;

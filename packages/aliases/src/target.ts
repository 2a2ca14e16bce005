import { type ProviderId, PROVIDER_IDS, isLocalProvider, isProviderId } from '@mana/config';

/** One place a piece of work may run: `provider/model`. */
export interface Target {
  provider: ProviderId;
  model: string;
  /** `provider/model`, exactly as written in aliases.yaml. */
  id: string;
}

export type TargetParse = { ok: true; target: Target } | { ok: false; error: string };

/** Splits at the first `/`, so model names may contain slashes (OpenRouter's do). */
export function parseTarget(id: string): TargetParse {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) {
    return { ok: false, error: `target "${id}" is not of the form provider/model` };
  }
  const provider = id.slice(0, slash);
  const model = id.slice(slash + 1);
  if (!isProviderId(provider)) {
    return {
      ok: false,
      error: `target "${id}" has unknown provider "${provider}" (known: ${PROVIDER_IDS.join(', ')})`,
    };
  }
  return { ok: true, target: { provider, model, id } };
}

export function isCloudTarget(target: Target): boolean {
  return !isLocalProvider(target.provider);
}

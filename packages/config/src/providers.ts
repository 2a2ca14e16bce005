/**
 * Every provider Mana can route to, and its kind. This table is the one place
 * that says which providers run on the team's own GPUs (`local`: capped per
 * server, probed, spilled from) and which are cloud APIs; queue names and
 * target prefixes use these ids. Adding a provider means a row here, its
 * adapter in @mana/providers (whose registry the compiler then insists on),
 * and its settings.
 */
export const PROVIDERS = {
  /** Models on the fleet's own GPU servers, whichever engine (Ollama or OpenAI-compatible) serves them. */
  ollama: { kind: 'local', completions: true, logprobs: true },
  // Gemini has no text-completion API; Groq retired its /v1/completions and returns no logprobs.
  google: { kind: 'cloud', completions: false, logprobs: false },
  openrouter: { kind: 'cloud', completions: true, logprobs: true },
  groq: { kind: 'cloud', completions: false, logprobs: false },
  together: { kind: 'cloud', completions: true, logprobs: true },
} as const satisfies Record<string, { kind: 'local' | 'cloud'; completions: boolean; logprobs: boolean }>;

export type ProviderId = keyof typeof PROVIDERS;
export type LocalProviderId = { [P in ProviderId]: (typeof PROVIDERS)[P]['kind'] extends 'local' ? P : never }[ProviderId];
export type CloudProviderId = Exclude<ProviderId, LocalProviderId>;

export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];
export const CLOUD_PROVIDER_IDS = PROVIDER_IDS.filter((p): p is CloudProviderId => PROVIDERS[p].kind === 'cloud');
/** The provider id local targets carry (`ollama/<model>`). */
export const LOCAL_PROVIDER: LocalProviderId = 'ollama';

/** Providers that run on the team's own GPUs; everything else is cloud. */
export function isLocalProvider(provider: ProviderId): provider is LocalProviderId {
  return PROVIDERS[provider].kind === 'local';
}

/** Whether the provider has a legacy text-completion API (/v1/completions, Ollama's generate). */
export function servesCompletions(provider: ProviderId): boolean {
  return PROVIDERS[provider].completions;
}

/** Whether Mana carries token log-probabilities from the provider (Gemini's are not mapped; Groq has none). */
export function servesLogprobs(provider: ProviderId): boolean {
  return PROVIDERS[provider].logprobs;
}

export function isProviderId(value: string): value is ProviderId {
  return Object.hasOwn(PROVIDERS, value);
}

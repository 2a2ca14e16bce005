/** Every provider Mana can route to. Queue names and target prefixes use these ids. */
export const PROVIDER_IDS = ['ollama', 'google', 'openrouter', 'groq', 'together'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** Providers that run on the team's own GPUs; everything else is cloud. */
export function isLocalProvider(provider: ProviderId): boolean {
  return provider === 'ollama';
}

export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}

import { CLOUD_OPENAI_COMPATIBLE, type CloudProviderId, type Config, type OpenAICompatibleId } from '@mana/config';
import { createGoogleAdapter } from './google/index.js';
import { createOllamaAdapter } from './ollama/index.js';
import { createLocalEngineAdapter, createOpenAICompatibleAdapter } from './openai-compatible/index.js';
import type { MalformedChunkHook } from './lenient-stream.js';
import type { ProviderAdapter } from './types.js';

export type { CloudProviderId };

export interface Providers {
  /** One adapter per GPU server (Ollama, or an OpenAI-compatible engine), keyed by its OLLAMA_HOSTS name. */
  ollama: ReadonlyMap<string, ProviderAdapter>;
  cloud: Readonly<Record<CloudProviderId, ProviderAdapter>>;
}

/** Every provider endpoint the configuration names. The only place providers are switched on. */
export function createProviders(config: Pick<Config, 'ollama' | 'google' | 'openaiCompatible'>, hooks: { onMalformedChunk?: MalformedChunkHook } = {}): Providers {
  const { onMalformedChunk } = hooks;
  const ollama = new Map(
    config.ollama.hosts.map((host) => [host.name, host.engine === 'openai' ? createLocalEngineAdapter(host, onMalformedChunk) : createOllamaAdapter(host, onMalformedChunk)]),
  );
  const openaiCompatible = Object.fromEntries(
    CLOUD_OPENAI_COMPATIBLE.map((id) => [id, createOpenAICompatibleAdapter({ id, ...config.openaiCompatible[id], onMalformedChunk })]),
  ) as Record<OpenAICompatibleId, ProviderAdapter>;
  return { ollama, cloud: { google: createGoogleAdapter({ ...config.google, onMalformedChunk }), ...openaiCompatible } };
}

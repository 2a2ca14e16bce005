import { createHash } from 'node:crypto';
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
  /**
   * One adapter per API key of each cloud provider (`GOOGLE_API_KEY=k1,k2`),
   * each named by a digest of its key (never the key), for rotation. A
   * provider with one key (or none) has one entry, the adapter in `cloud`.
   */
  cloudKeys: Readonly<Record<CloudProviderId, ReadonlyArray<{ keyId: string; adapter: ProviderAdapter }>>>;
}

/** The keys in one provider key variable: comma-separated, so several keys rotate. */
export function splitKeys(apiKey: string | undefined): string[] {
  return (apiKey ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
}

/** Names a key in Redis and logs without revealing it. */
export function keyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** Every provider endpoint the configuration names. The only place providers are switched on. */
export function createProviders(config: Pick<Config, 'ollama' | 'google' | 'openaiCompatible'>, hooks: { onMalformedChunk?: MalformedChunkHook } = {}): Providers {
  const { onMalformedChunk } = hooks;
  const ollama = new Map(
    config.ollama.hosts.map((host) => [host.name, host.engine === 'openai' ? createLocalEngineAdapter(host, onMalformedChunk) : createOllamaAdapter(host, onMalformedChunk)]),
  );
  const perKey = <C extends { apiKey: string | undefined }>(settings: C, make: (settings: C) => ProviderAdapter) => {
    const keys = splitKeys(settings.apiKey);
    if (keys.length === 0) return [{ keyId: 'none', adapter: make(settings) }];
    return keys.map((key) => ({ keyId: keyId(key), adapter: make({ ...settings, apiKey: key }) }));
  };
  const google = perKey({ ...config.google, onMalformedChunk }, createGoogleAdapter);
  const openaiCompatible = Object.fromEntries(
    CLOUD_OPENAI_COMPATIBLE.map((id) => [id, perKey({ id, ...config.openaiCompatible[id], onMalformedChunk }, createOpenAICompatibleAdapter)]),
  ) as Record<OpenAICompatibleId, Array<{ keyId: string; adapter: ProviderAdapter }>>;
  const cloudKeys = { google, ...openaiCompatible };
  const cloud = Object.fromEntries(Object.entries(cloudKeys).map(([id, keys]) => [id, keys[0]!.adapter])) as Record<CloudProviderId, ProviderAdapter>;
  return { ollama, cloud, cloudKeys };
}

export { loadConfig, CLOUD_OPENAI_COMPATIBLE } from './config.js';
export type { CloudProviderConfig, Config, OpenAICompatibleId } from './config.js';
export { EnvSchema, parseEnv } from './env.js';
export type { Env, EnvSource } from './env.js';
export { parseOllamaHosts } from './ollama-hosts.js';
export type { OllamaHost } from './ollama-hosts.js';
export { PROVIDER_IDS, isLocalProvider, isProviderId } from './providers.js';
export type { ProviderId } from './providers.js';

import { type EnvSource, parseEnv } from './env.js';
import type { OllamaHost } from './ollama-hosts.js';
import type { ProviderId } from './providers.js';

export const CLOUD_OPENAI_COMPATIBLE = ['openrouter', 'groq', 'together'] as const satisfies readonly ProviderId[];
export type OpenAICompatibleId = (typeof CLOUD_OPENAI_COMPATIBLE)[number];

export interface CloudProviderConfig {
  /** Undefined when no key is configured: the provider is then unusable. */
  apiKey: string | undefined;
  baseUrl: string;
}

/** The whole runtime configuration, read once at start-up by each main.ts. */
export interface Config {
  http: { port: number; host: string };
  redis: { url: string; prefix: string };
  ollama: { hosts: readonly OllamaHost[]; maxConcurrent: number };
  google: CloudProviderConfig & { defaultModel: string };
  openaiCompatible: Readonly<Record<OpenAICompatibleId, CloudProviderConfig>>;
  autoFallbackEnabled: boolean;
  aliasesPath: string;
  logLevel: string;
}

/**
 * The only reader of the environment. Throws ConfigError listing every bad
 * variable; `main.ts` prints it and exits 1.
 */
export function loadConfig(source: EnvSource): Readonly<Config> {
  const env = parseEnv(source);
  return deepFreeze({
    http: { port: env.PORT, host: env.HOST },
    redis: { url: env.REDIS_URL, prefix: env.MANA_REDIS_PREFIX },
    ollama: { hosts: env.OLLAMA_HOSTS, maxConcurrent: env.OLLAMA_MAX_CONCURRENT },
    google: { apiKey: env.GOOGLE_API_KEY, baseUrl: env.GOOGLE_BASE_URL, defaultModel: env.GOOGLE_DEFAULT_MODEL },
    openaiCompatible: {
      openrouter: { apiKey: env.OPENROUTER_API_KEY, baseUrl: env.OPENROUTER_BASE_URL },
      groq: { apiKey: env.GROQ_API_KEY, baseUrl: env.GROQ_BASE_URL },
      together: { apiKey: env.TOGETHER_API_KEY, baseUrl: env.TOGETHER_BASE_URL },
    },
    autoFallbackEnabled: env.AUTO_FALLBACK_ENABLED,
    aliasesPath: env.MANA_ALIASES_PATH,
    logLevel: env.MANA_LOG_LEVEL,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

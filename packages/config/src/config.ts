import { ConfigError } from '@mana/errors';
import type { PerTenant } from './tenant-settings.js';
import { type ApiKey, hashKey, parseApiKeys, readApiKeysFile } from './api-keys.js';
import { type Env, type EnvSource, parseEnv } from './env.js';
import type { OllamaHost } from './ollama-hosts.js';
import { CLOUD_PROVIDER_IDS, type ProviderId } from './providers.js';
import { type RedisTarget, redisTarget } from './redis-target.js';

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
  /** `target` is what connections are made to; `url` is REDIS_URL as given. */
  redis: { url: string; prefix: string; target: RedisTarget };
  ollama: { hosts: readonly OllamaHost[]; maxConcurrent: number };
  google: CloudProviderConfig & { defaultModel: string };
  openaiCompatible: Readonly<Record<OpenAICompatibleId, CloudProviderConfig>>;
  autoFallbackEnabled: boolean;
  aliasesPath: string;
  /** The cloud price table (prices.yaml), read by every process that finishes jobs. */
  pricesPath: string;
  logLevel: string;
  /** Jobs each cloud provider's Worker runs at once, per worker process. */
  cloudConcurrency: number;
  /**
   * The gateway's deadlines for one hop, by kind of provider: the whole hop,
   * and for a streamed one the first token and the longest quiet between chunks.
   */
  timeouts: { ollamaMs: number; cloudMs: number; ollamaFirstTokenMs: number; cloudFirstTokenMs: number; streamIdleMs: number; cloudTransientRetryMs: number };
  /** How often each GPU server is probed (one probe per host per interval, cluster-wide). */
  healthIntervalMs: number;
  /** How soon a job whose worker died is noticed and run again. */
  stalledIntervalMs: number;
  /** Default tolerance for waiting on a GPU before spilling, by priority; batch never spills for overflow alone. */
  maxWaitMs: { interactive: number; async: number };
  /** How long finished job records and their events are kept. */
  jobRetentionS: number;
  /** How long a batch may go without accounting progress before its items are checked (a process died between finishing an item and writing it out). */
  batchReconcileMs: number;
  /** The first N GPU servers keep their last free slot for interactive work while such work was seen in the last seconds. */
  interactiveReservedSlots: number;
  /** Each Ollama server gets one hop beyond its slots, queued there, so a freed slot starts the next at once (see GpuScheduler). */
  gpuOnDeck: boolean;
  /** How long a batch's input reader may go without a heartbeat (one a second) before another API process reads on from where it stopped. */
  batchReaderQuietMs: number;
  /** How long SIGTERM waits for in-flight work before exiting. */
  shutdownGraceMs: number;
  /** Images by URL: the fetch's deadline, and the private hosts/ranges an operator lets it reach. */
  imageFetch: { timeoutMs: number; allow: readonly string[] };
  /**
   * Client keys by tenant, and the operators' key (both hashed). No client
   * keys: development mode, which only listens on loopback.
   */
  auth: {
    /** Every client key at start-up: MANA_API_KEYS's, then MANA_API_KEYS_FILE's. */
    keys: readonly ApiKey[];
    /** The keys from MANA_API_KEYS alone (fixed for the process's life). */
    envKeys: readonly ApiKey[];
    /** MANA_API_KEYS_FILE, re-read on a reload (SIGHUP or the admin call) to add or revoke keys without a restart. */
    keysFile: string | undefined;
    adminKeyHash: Buffer | undefined;
    tenantRpm: number;
    tenantMaxQueued: number;
  };
  /** Sharing one fleet between tenants: weights, token limits, cloud budgets. */
  tenants: {
    weights: PerTenant | undefined;
    tpm: PerTenant | undefined;
    budgetUsd: PerTenant | undefined;
    /** Once a tenant's budget is spent: its jobs stay on the GPUs, or are refused with 402. */
    budgetExhausted: 'local' | 'refuse';
  };
  /** Each cloud API key's own quotas, by provider (a provider's keys rotate; see KeyRotation). */
  keyQuotas: { rpm: PerTenant | undefined; tpm: PerTenant | undefined };
  /** OpenTelemetry tracing: off unless an OTLP endpoint is set; the service name defaults per process. */
  tracing: { endpoint: string | undefined; serviceName: string | undefined };
  /** bull-board shows queues and jobs but offers no actions. */
  boardReadOnly: boolean;
}

/**
 * The only reader of the environment. Throws ConfigError listing every bad
 * variable; `main.ts` prints it and exits 1.
 */
export function loadConfig(source: EnvSource): Readonly<Config> {
  const env = parseEnv(source);
  const auth = loadAuth(env);
  checkKeyQuotas(env);
  return deepFreeze({
    http: { port: env.PORT, host: env.HOST },
    redis: { url: env.REDIS_URL, prefix: env.MANA_REDIS_PREFIX, target: redisTarget(env.REDIS_URL, env.REDIS_CLUSTER_NODES) },
    ollama: { hosts: env.OLLAMA_HOSTS, maxConcurrent: env.OLLAMA_MAX_CONCURRENT },
    google: { apiKey: env.GOOGLE_API_KEY, baseUrl: env.GOOGLE_BASE_URL, defaultModel: env.GOOGLE_DEFAULT_MODEL },
    openaiCompatible: {
      openrouter: { apiKey: env.OPENROUTER_API_KEY, baseUrl: env.OPENROUTER_BASE_URL },
      groq: { apiKey: env.GROQ_API_KEY, baseUrl: env.GROQ_BASE_URL },
      together: { apiKey: env.TOGETHER_API_KEY, baseUrl: env.TOGETHER_BASE_URL },
    },
    autoFallbackEnabled: env.AUTO_FALLBACK_ENABLED,
    aliasesPath: env.MANA_ALIASES_PATH,
    pricesPath: env.MANA_PRICES_PATH,
    logLevel: env.MANA_LOG_LEVEL,
    cloudConcurrency: env.MANA_CLOUD_CONCURRENCY,
    timeouts: {
      ollamaMs: env.MANA_OLLAMA_TIMEOUT_MS,
      cloudMs: env.MANA_CLOUD_TIMEOUT_MS,
      ollamaFirstTokenMs: env.MANA_OLLAMA_FIRST_TOKEN_TIMEOUT_MS,
      cloudFirstTokenMs: env.MANA_CLOUD_FIRST_TOKEN_TIMEOUT_MS,
      streamIdleMs: env.MANA_STREAM_IDLE_TIMEOUT_MS,
      cloudTransientRetryMs: env.MANA_CLOUD_TRANSIENT_RETRY_MS,
    },
    healthIntervalMs: env.MANA_HEALTH_INTERVAL_MS,
    stalledIntervalMs: env.MANA_STALLED_INTERVAL_MS,
    maxWaitMs: { interactive: env.MANA_MAX_WAIT_INTERACTIVE_MS, async: env.MANA_MAX_WAIT_ASYNC_MS },
    jobRetentionS: env.MANA_JOB_RETENTION_S,
    batchReconcileMs: env.MANA_BATCH_RECONCILE_MS,
    interactiveReservedSlots: env.MANA_INTERACTIVE_RESERVED_SLOTS,
    gpuOnDeck: env.MANA_GPU_ON_DECK,
    batchReaderQuietMs: env.MANA_BATCH_READER_QUIET_MS,
    tracing: { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME },
    shutdownGraceMs: env.MANA_SHUTDOWN_GRACE_MS,
    imageFetch: { timeoutMs: env.MANA_IMAGE_FETCH_TIMEOUT_MS, allow: env.MANA_IMAGE_FETCH_ALLOW },
    auth,
    keyQuotas: { rpm: env.MANA_KEY_RPM, tpm: env.MANA_KEY_TPM },
    tenants: { weights: env.MANA_TENANT_WEIGHTS, tpm: env.MANA_TENANT_TPM, budgetUsd: env.MANA_TENANT_BUDGET_USD, budgetExhausted: env.MANA_BUDGET_EXHAUSTED },
    boardReadOnly: env.MANA_BOARD_READ_ONLY,
  });
}

/** Keys from MANA_API_KEYS and MANA_API_KEYS_FILE; refuses a public address without any. */
function loadAuth(env: Env): Config['auth'] {
  const issues: Array<{ key: string; message: string }> = [];
  const keys: ApiKey[] = [];
  const fromList = env.MANA_API_KEYS ? parseApiKeys(env.MANA_API_KEYS) : undefined;
  if (fromList && !fromList.ok) issues.push({ key: 'MANA_API_KEYS', message: fromList.error });
  if (fromList?.ok) keys.push(...fromList.value);
  const envKeys = [...keys];
  const fromFile = env.MANA_API_KEYS_FILE ? readApiKeysFile(env.MANA_API_KEYS_FILE) : undefined;
  if (fromFile && !fromFile.ok) issues.push({ key: 'MANA_API_KEYS_FILE', message: fromFile.error });
  if (fromFile?.ok) keys.push(...fromFile.value);
  if (issues.length === 0 && keys.length === 0 && !isLoopback(env.HOST)) {
    issues.push({ key: 'HOST', message: `refusing to listen on ${env.HOST} without API keys: set MANA_API_KEYS (or MANA_API_KEYS_FILE), or listen on 127.0.0.1` });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'invalid environment');
  return {
    keys,
    envKeys,
    keysFile: env.MANA_API_KEYS_FILE,
    adminKeyHash: env.MANA_ADMIN_KEY ? hashKey(env.MANA_ADMIN_KEY) : undefined,
    tenantRpm: env.MANA_TENANT_RPM,
    tenantMaxQueued: env.MANA_TENANT_MAX_QUEUED,
  };
}

/** Key quotas name cloud providers; anything else is a typo worth stopping for. */
function checkKeyQuotas(env: Env): void {
  const issues = (['MANA_KEY_RPM', 'MANA_KEY_TPM'] as const).flatMap((key) =>
    Object.keys(env[key]?.byTenant ?? {})
      .filter((name) => !(CLOUD_PROVIDER_IDS as readonly string[]).includes(name))
      .map((name) => ({ key, message: `${name} is not a cloud provider (expected one of ${CLOUD_PROVIDER_IDS.join(', ')}, or *)` })),
  );
  if (issues.length > 0) throw new ConfigError(issues, 'invalid environment');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function deepFreeze<T>(value: T): T {
  // Buffers cannot be frozen (and hold hashes nobody writes to).
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '@mana/errors';
import { BoolEnv, HttpUrlEnv, RedisUrlEnv, intEnv } from './env-types.js';
import { type OllamaHost, parseOllamaHosts } from './ollama-hosts.js';
import { closestName } from './closest-name.js';
import { parseClusterNodes } from './redis-target.js';
import { parsePerTenant } from './tenant-settings.js';

function perTenantEnv(what: string) {
  return z.string().transform((raw, ctx) => {
    const parsed = parsePerTenant(raw, what);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  });
}

const ClusterNodesEnv = z.string().transform((raw, ctx) => {
  const parsed = parseClusterNodes(raw);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

const OllamaHostsEnv = z.string().transform((raw, ctx): OllamaHost[] => {
  const parsed = parseOllamaHosts(raw);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

/**
 * Every environment variable Mana reads, with its default. The names carried
 * over from the original service keep their meaning and defaults.
 */
export const EnvSchema = z.object({
  PORT: intEnv(0)
    .pipe(z.number().max(65535, { error: 'expected a port number ≤ 65535' }))
    .default(8080),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  REDIS_URL: RedisUrlEnv.default('redis://127.0.0.1:6379'),
  /** Seed nodes of a Redis Cluster (`host:port,…`); when set, Mana uses the ioredis Cluster client. */
  REDIS_CLUSTER_NODES: ClusterNodesEnv.optional(),
  MANA_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:-]{1,64}$/, { error: 'expected letters, digits, "_", ":" or "-" (at most 64)' })
    .default('mana'),
  OLLAMA_HOSTS: OllamaHostsEnv.default([{ name: 'gpu0', url: 'http://127.0.0.1:11434' }]),
  OLLAMA_MAX_CONCURRENT: intEnv(1).default(3),
  AUTO_FALLBACK_ENABLED: BoolEnv.default(true),
  GOOGLE_API_KEY: z.string().optional(),
  GOOGLE_DEFAULT_MODEL: z.string().trim().min(1).default('gemini-2.0-flash'),
  GOOGLE_BASE_URL: HttpUrlEnv.default('https://generativelanguage.googleapis.com'),
  OPENROUTER_API_KEY: z.string().optional(),
  OPENROUTER_BASE_URL: HttpUrlEnv.default('https://openrouter.ai/api/v1'),
  GROQ_API_KEY: z.string().optional(),
  GROQ_BASE_URL: HttpUrlEnv.default('https://api.groq.com/openai/v1'),
  TOGETHER_API_KEY: z.string().optional(),
  TOGETHER_BASE_URL: HttpUrlEnv.default('https://api.together.xyz/v1'),
  MANA_ALIASES_PATH: z.string().trim().min(1).default('aliases.yaml'),
  /** Cloud prices per million tokens, for the usage ledger's costs (see the shipped prices.yaml). */
  MANA_PRICES_PATH: z.string().trim().min(1).default('prices.yaml'),
  MANA_CLOUD_CONCURRENCY: intEnv(1).default(16),
  MANA_OLLAMA_TIMEOUT_MS: intEnv(1).default(300_000),
  MANA_CLOUD_TIMEOUT_MS: intEnv(1).default(120_000),
  /** A streamed cloud hop that sends no token this long fails over (it hangs, or starts too slowly). */
  MANA_CLOUD_FIRST_TOKEN_TIMEOUT_MS: intEnv(1).default(15_000),
  /** The same for a GPU hop; longer, as a cold model loads first. */
  MANA_OLLAMA_FIRST_TOKEN_TIMEOUT_MS: intEnv(1).default(60_000),
  /** A cloud hop's first 5xx is tried once more on the same target after this long; 0 moves on at once. */
  MANA_CLOUD_TRANSIENT_RETRY_MS: intEnv(0).default(250),
  /** A stream that has begun and then sends nothing this long fails (it stalled). */
  MANA_STREAM_IDLE_TIMEOUT_MS: intEnv(1).default(20_000),
  MANA_HEALTH_INTERVAL_MS: intEnv(100).default(2_000),
  MANA_STALLED_INTERVAL_MS: intEnv(100).default(5_000),
  MANA_MAX_WAIT_INTERACTIVE_MS: intEnv(0).default(5_000),
  MANA_MAX_WAIT_ASYNC_MS: intEnv(0).default(60_000),
  MANA_JOB_RETENTION_S: intEnv(60).default(86_400),
  /** A batch whose accounting made no progress this long is checked for items finished but never written out. */
  MANA_BATCH_RECONCILE_MS: intEnv(100).default(60_000),
  /** How many GPU servers (the first in OLLAMA_HOSTS) keep one slot for interactive work while interactive traffic is present. */
  MANA_INTERACTIVE_RESERVED_SLOTS: intEnv(0).default(1),
  /** Send each Ollama server one hop ahead of its slots, which it queues (only where OLLAMA_MAX_CONCURRENT equals its OLLAMA_NUM_PARALLEL). */
  MANA_GPU_ON_DECK: BoolEnv.default(false),
  /** A batch whose input reader beat no heartbeat this long (its process died) is read on by another API process. */
  MANA_BATCH_READER_QUIET_MS: intEnv(100).default(10_000),
  MANA_SHUTDOWN_GRACE_MS: intEnv(0).default(30_000),
  /** Images given by http(s) URL are fetched by the gateway within this long. */
  MANA_IMAGE_FETCH_TIMEOUT_MS: intEnv(100).default(5_000),
  /** Hosts, addresses or CIDR ranges image fetches may reach although private (loopback, LAN, link-local): comma-separated. */
  MANA_IMAGE_FETCH_ALLOW: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  MANA_API_KEYS: z.string().optional(),
  MANA_API_KEYS_FILE: z.string().trim().min(1).optional(),
  MANA_ADMIN_KEY: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  /** Requests per minute per tenant; 0 turns the limit off. */
  MANA_TENANT_RPM: intEnv(0).default(0),
  /** Unfinished jobs per tenant (batch items not counted); 0 turns the limit off. */
  MANA_TENANT_MAX_QUEUED: intEnv(0).default(0),
  /** Shares of the GPU slots within a priority class, `team-a:3,team-b:1` (unnamed tenants: `*`, else 1). */
  MANA_TENANT_WEIGHTS: perTenantEnv('weight').optional(),
  /** Tokens (prompt + completion) per minute per tenant, `team-a:200000,*:50000` or one number for all; unset: no limit. */
  MANA_TENANT_TPM: perTenantEnv('token limit').optional(),
  /** A tenant's cloud spend per calendar month (UTC) in US dollars, `team-a:50,*:10`; unset: no budget. */
  MANA_TENANT_BUDGET_USD: perTenantEnv('budget').optional(),
  /** Requests per minute each API key of a cloud provider may make, `google:15,groq:30` (keys rotate: GOOGLE_API_KEY=k1,k2). */
  MANA_KEY_RPM: perTenantEnv('requests per minute').optional(),
  /** Tokens per minute each API key of a cloud provider may use, `google:1000000`. */
  MANA_KEY_TPM: perTenantEnv('tokens per minute').optional(),
  /** What a tenant's job does once its budget is spent: stay on the GPUs (`local`: wait, never spill) or be refused (`refuse`: 402). */
  MANA_BUDGET_EXHAUSTED: z.enum(['local', 'refuse']).default('local'),
  /** Read by the `mana` CLI, not the gateway; listed so the gateway does not call them typos. */
  MANA_URL: z.string().optional(),
  MANA_API_KEY: z.string().optional(),
  /** bull-board without job actions (retry, remove, pause), for on-call viewers. */
  MANA_BOARD_READ_ONLY: BoolEnv.default(false),
  /** OpenTelemetry: where to send traces (OTLP over HTTP); unset, tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: HttpUrlEnv.optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).optional(),
  MANA_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type Env = z.infer<typeof EnvSchema>;

/** Variables whose values must never appear in a message or a log line. */
const SECRET_KEYS = new Set(['GOOGLE_API_KEY', 'OPENROUTER_API_KEY', 'GROQ_API_KEY', 'TOGETHER_API_KEY', 'MANA_API_KEYS', 'MANA_ADMIN_KEY', 'MANA_API_KEY']);

/** Our own namespace: a MANA_ variable we do not know is a typo worth stopping for. */
const OWN_PREFIX = 'MANA_';

export type EnvSource = Readonly<Record<string, string | undefined>>;

/**
 * Parses an environment (normally `process.env`) into the typed environment.
 * Empty values count as unset, as docker-compose env files often leave them.
 * Throws a ConfigError with one issue per bad variable.
 */
export function parseEnv(source: EnvSource): Env {
  const present = Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const issues: ConfigIssue[] = unknownOwnVariables(present);
  const result = EnvSchema.safeParse(present);
  if (result.success && issues.length === 0) return result.data;
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '(environment)');
      issues.push({ key, message: describe(issue.message, key, present[key]) });
    }
  }
  throw new ConfigError(issues, 'invalid environment');
}

function describe(message: string, key: string, value: string | undefined): string {
  if (value === undefined) return message;
  const shown = SECRET_KEYS.has(key) ? '(hidden)' : JSON.stringify(value);
  return `${message}; got ${shown}`;
}

function unknownOwnVariables(present: Record<string, string>): ConfigIssue[] {
  const known = Object.keys(EnvSchema.shape);
  return Object.keys(present)
    .filter((key) => key.startsWith(OWN_PREFIX) && !known.includes(key))
    .map((key) => {
      const guess = closestName(
        key,
        known.filter((k) => k.startsWith(OWN_PREFIX)),
      );
      return { key, message: `unknown variable${guess ? ` (did you mean ${guess}?)` : ''}` };
    });
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiProcess, startApi } from '@mana/api';
import { type Config, loadConfig } from '@mana/config';
import {
  type GeminiEmulator,
  type GeminiEmulatorOptions,
  type OllamaEmulator,
  type OllamaEmulatorOptions,
  type OpenAICompatibleEmulator,
  type OpenAICompatibleEmulatorOptions,
  startGeminiEmulator,
  startOllamaEmulator,
  startOpenAICompatibleEmulator,
  type EmulatedModel,
  type TimingOptions,
  shippedModels,
} from '@mana/emulators';
import { type JobRecord, JobRecords, Keys, type Pipeline, createPipeline, createRedis } from '@mana/jobs';
import { createLogger } from '@mana/logging';
import { type WorkerProcess, startWorkers } from '@mana/worker';
import { deletePrefix, scanPrefix, testPrefix, testRedisEnv } from './redis.js';

export const SHIPPED_ALIASES = fileURLToPath(new URL('../../../aliases.yaml', import.meta.url));
const SHIPPED_PRICES = fileURLToPath(new URL('../../../prices.yaml', import.meta.url));

/** One emulated GPU server of a fleet: its engine, its models, its capacity as OLLAMA_HOSTS says. */
export interface FleetServer {
  name: string;
  /** @defaultValue 'ollama' */
  engine?: 'ollama' | 'openai';
  /** Model names it has (pulled, or served). */
  models: string[];
  /** Its `slots=` in OLLAMA_HOSTS (and the emulator's own slots). */
  slots: number;
  /** More emulator options (VRAM, load times, per-model timings). */
  ollama?: OllamaEmulatorOptions;
  /** Timings of an openai engine, per model. */
  modelTimings?: Record<string, TimingOptions>;
}

export interface StackOptions {
  /** Emulated GPU servers. @defaultValue 1 */
  gpus?: number;
  /** A fleet of unlike GPU servers, instead of `gpus` identical ones (the Ollama ones are `gpus`, the others `engines`, in order). */
  fleet?: FleetServer[];
  /** OLLAMA_MAX_CONCURRENT. @defaultValue 2 */
  maxConcurrent?: number;
  ollama?: OllamaEmulatorOptions;
  gemini?: GeminiEmulatorOptions;
  /** The cloud OpenAI-compatible providers' emulator (OpenRouter, Groq, Together). */
  openai?: OpenAICompatibleEmulatorOptions;
  /** Extra environment, e.g. AUTO_FALLBACK_ENABLED=false. */
  env?: Record<string, string>;
  /** An aliases.yaml of the test's own (written to a temporary file, removed on close) instead of the shipped one. */
  aliasesYaml?: string;
  /** Worker processes to run in this process. @defaultValue 1 */
  workers?: number;
  /** A single Redis of the test's own (e.g. one it will stop). @defaultValue the run's Redis, one server or a cluster */
  redisUrl?: string;
  /** Seed nodes of a Redis Cluster of the test's own. @defaultValue the run's Redis */
  redisClusterNodes?: string;
}

export interface StatusDocument {
  gpus: Record<string, { ok: boolean | null; detail: string; drained: boolean }>;
  providers: Record<string, { configured: boolean; breakerOpen: boolean; reason?: string }>;
  queues: Record<string, Record<string, number>>;
  fallbacks: Record<string, number>;
}

export interface Stack {
  config: Readonly<Config>;
  env: Record<string, string>;
  api: ApiProcess;
  workers: WorkerProcess[];
  gpus: OllamaEmulator[];
  /** The fleet's OpenAI-compatible engines (vLLM-style), in order. */
  engines: OpenAICompatibleEmulator[];
  gemini: GeminiEmulator;
  openai: OpenAICompatibleEmulator;
  /** `${api.url}/v1`, for the openai SDK. */
  baseURL: string;
  keys: Keys;
  /** The stack's queues, records and Redis, as a process of the gateway sees them (for inspection). */
  pipeline: Pipeline;
  /** Every job record under this stack's prefix, oldest first. */
  jobs(): Promise<JobRecord[]>;
  /** The API's /status document. */
  status(): Promise<StatusDocument>;
  close(): Promise<void>;
}

/**
 * The whole gateway on this machine: emulated GPUs and cloud providers, an
 * API and workers against the test Redis under a prefix of its own. Real
 * HTTP, real Redis, real BullMQ, real SDKs; only the providers are emulated.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { gpus, engines, hosts } = options.fleet
    ? await startFleet(options.fleet)
    : {
        gpus: await Promise.all(Array.from({ length: options.gpus ?? 1 }, () => startOllamaEmulator({ slots: options.maxConcurrent ?? 2, ...options.ollama }))),
        engines: [],
        hosts: undefined,
      };
  const gemini = await startGeminiEmulator({ apiKey: 'test-google-key', ...options.gemini });
  const openai = await startOpenAICompatibleEmulator({ apiKey: 'test-cloud-key', ...options.openai });
  const aliasesDir = options.aliasesYaml !== undefined ? await mkdtemp(join(tmpdir(), 'mana-aliases-')) : undefined;
  if (aliasesDir) await writeFile(join(aliasesDir, 'aliases.yaml'), options.aliasesYaml!);
  const extra = {
    ...(hosts ? { OLLAMA_HOSTS: hosts } : {}),
    ...(aliasesDir ? { MANA_ALIASES_PATH: join(aliasesDir, 'aliases.yaml') } : {}),
    ...ownRedisEnv(options),
    ...options.env,
  };
  const env = stackEnv({ gpus, gemini, openai, maxConcurrent: options.maxConcurrent ?? 2, extra });
  const config = loadConfig(env);
  const log = createLogger(process.env.MANA_TEST_LOG ?? 'silent', 'mana-test');
  const workers = await Promise.all(Array.from({ length: options.workers ?? 1 }, () => startWorkers(config, log)));
  const api = await startApi(config, log);
  const keys = new Keys(config.redis.prefix);
  const inspector = createRedis(config.redis.target, { name: 'mana-test-inspector' });
  const records = new JobRecords(inspector, keys, config.jobRetentionS);
  const pipeline = createPipeline(config, inspector);
  return {
    config,
    env,
    api,
    workers,
    gpus,
    engines,
    gemini,
    openai,
    baseURL: `${api.url}/v1`,
    keys,
    pipeline,
    async jobs() {
      const found: JobRecord[] = [];
      await scanPrefix(inspector, `${config.redis.prefix}:job:{*}`, async (_server, batch) => {
        for (const key of batch.filter((k) => k.endsWith('}'))) {
          const record = await records.get(key.slice(key.indexOf('{') + 1, -1));
          if (record) found.push(record);
        }
      });
      return found.sort((a, b) => a.createdAt - b.createdAt);
    },
    async status() {
      // With keys configured, /status is an operator route: the stack's admin key, when it has one.
      const admin = env.MANA_ADMIN_KEY ? { headers: { authorization: `Bearer ${env.MANA_ADMIN_KEY}` } } : {};
      return (await (await fetch(`${api.url}/status`, admin)).json()) as StatusDocument;
    },
    async close() {
      await pipeline.queues.close();
      pipeline.spillIndex.close();
      inspector.disconnect();
      await api.close(0);
      await Promise.all(workers.map((w) => w.close(0)));
      await Promise.all([...gpus, ...engines, gemini, openai].map((e) => e.close()));
      await deletePrefix(config.redis.prefix, config.redis.target).catch(() => {});
      if (aliasesDir) await rm(aliasesDir, { recursive: true, force: true });
    },
  };
}

async function startFleet(fleet: readonly FleetServer[]) {
  const gpus: OllamaEmulator[] = [];
  const engines: OpenAICompatibleEmulator[] = [];
  const hosts: string[] = [];
  const all = shippedModels('ollama');
  const described = (name: string): EmulatedModel => all.find((m) => m.name === name) ?? { name, kind: name.includes('embed') ? 'embedding' : 'chat' };
  for (const server of fleet) {
    const models = server.models.map(described);
    if (server.engine === 'openai') {
      const engine = await startOpenAICompatibleEmulator({
        localEngine: { models, slots: server.slots * 4, ...(server.modelTimings ? { modelTimings: server.modelTimings } : {}) },
      });
      engines.push(engine);
      hosts.push(`${server.name}=${engine.url};engine=openai;slots=${server.slots}`);
    } else {
      const gpu = await startOllamaEmulator({ slots: server.slots, models, ...server.ollama });
      gpus.push(gpu);
      hosts.push(`${server.name}=${gpu.url};slots=${server.slots}`);
    }
  }
  return { gpus, engines, hosts: hosts.join(',') };
}

function ownRedisEnv(options: StackOptions): Record<string, string> {
  if (options.redisClusterNodes) return { REDIS_URL: `redis://${options.redisClusterNodes.split(',')[0]}`, REDIS_CLUSTER_NODES: options.redisClusterNodes };
  if (options.redisUrl) return { REDIS_URL: options.redisUrl, REDIS_CLUSTER_NODES: '' };
  return {};
}

/** The environment a gateway process needs to run against these emulators. */
export function stackEnv(parts: {
  gpus: readonly OllamaEmulator[];
  gemini: GeminiEmulator;
  openai: OpenAICompatibleEmulator;
  maxConcurrent: number;
  extra?: Record<string, string> | undefined;
  prefix?: string;
}): Record<string, string> {
  return {
    ...testRedisEnv(),
    MANA_REDIS_PREFIX: parts.prefix ?? testPrefix(),
    PORT: '0',
    OLLAMA_HOSTS: parts.gpus.map((g, i) => `gpu${i}=${g.url}`).join(','),
    OLLAMA_MAX_CONCURRENT: String(parts.maxConcurrent),
    GOOGLE_API_KEY: 'test-google-key',
    GOOGLE_BASE_URL: parts.gemini.url,
    OPENROUTER_API_KEY: 'test-cloud-key',
    OPENROUTER_BASE_URL: `${parts.openai.url}/openrouter/v1`,
    GROQ_API_KEY: 'test-cloud-key',
    GROQ_BASE_URL: `${parts.openai.url}/groq/v1`,
    TOGETHER_API_KEY: 'test-cloud-key',
    TOGETHER_BASE_URL: `${parts.openai.url}/together/v1`,
    MANA_ALIASES_PATH: SHIPPED_ALIASES,
    MANA_PRICES_PATH: SHIPPED_PRICES,
    MANA_HEALTH_INTERVAL_MS: '250',
    MANA_STALLED_INTERVAL_MS: '500',
    MANA_OLLAMA_TIMEOUT_MS: '5000',
    MANA_CLOUD_TIMEOUT_MS: '5000',
    MANA_SHUTDOWN_GRACE_MS: '2000',
    ...parts.extra,
  };
}

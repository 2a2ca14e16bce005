import { startApi } from '@mana/api';
import { describeRedisTarget, loadConfig } from '@mana/config';
import { startGeminiEmulator, startOllamaEmulator, startOpenAICompatibleEmulator } from '@mana/emulators';
import { ConfigError } from '@mana/errors';
import { createLogger, keepRunningOnUnhandledRejections } from '@mana/logging';
import { startWorkers } from '@mana/worker';
import { startLocalRedis } from '@mana/local-redis';

// `npm run demo`: the whole gateway on one machine with no GPU and no cloud key.
// Emulators stand in for Ollama and the cloud providers; everything else is real.
try {
  const redis = process.env.REDIS_URL ? undefined : await startLocalRedis();
  const slots = Number(process.env.OLLAMA_MAX_CONCURRENT ?? 3) || 3;
  // A GPU that feels like one: a short prompt phase and a steady token rate.
  const gpu = await startOllamaEmulator({ slots, timeToFirstTokenMs: 120, perTokenMs: 25 });
  const gemini = await startGeminiEmulator({ apiKey: 'demo-key', timeToFirstTokenMs: 300, perTokenMs: 10 });
  const cloud = await startOpenAICompatibleEmulator({ apiKey: 'demo-key', timeToFirstTokenMs: 300, perTokenMs: 10 });
  const config = loadConfig({
    ...process.env,
    REDIS_URL: process.env.REDIS_URL ?? redis!.url,
    OLLAMA_HOSTS: `gpu0=${gpu.url}`,
    GOOGLE_API_KEY: 'demo-key',
    GOOGLE_BASE_URL: gemini.url,
    OPENROUTER_API_KEY: 'demo-key',
    OPENROUTER_BASE_URL: cloud.baseUrlFor('openrouter'),
    GROQ_API_KEY: 'demo-key',
    GROQ_BASE_URL: cloud.baseUrlFor('groq'),
    TOGETHER_API_KEY: 'demo-key',
    TOGETHER_BASE_URL: cloud.baseUrlFor('together'),
    MANA_LOG_LEVEL: process.env.MANA_LOG_LEVEL ?? 'warn',
  });
  const log = createLogger(config.logLevel, 'mana-demo');
  keepRunningOnUnhandledRejections(log);
  const workers = await startWorkers(config, log);
  const api = await startApi(config, log);
  console.log(`
  Mana demo — EMULATORS stand in for Ollama and the cloud providers (no real GPU or key is used)

    gateway (OpenAI-compatible)  ${api.url}/v1
    status                       ${api.url}/status
    emulated GPU  (Ollama)       ${gpu.url}   ${slots} slots
    emulated Gemini              ${gemini.url}
    Redis                        ${describeRedisTarget(config.redis.target)}${redis ? '  (started for this demo)' : ''}

  Try:
    curl -s ${api.url}/v1/chat/completions -H 'content-type: application/json' \\
      -d '{"model":"mana/fast-text","messages":[{"role":"user","content":"hello"}]}'

  Ctrl-C stops everything.
`);
  const stop = () => {
    void Promise.all([api.close(1_000), workers.close(1_000), gpu.close(), gemini.close(), cloud.close()]).finally(() => {
      redis?.stop();
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  console.error(err instanceof ConfigError || err instanceof Error ? err.message : err);
  process.exit(1);
}

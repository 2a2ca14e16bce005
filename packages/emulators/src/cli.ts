import { parseArgs } from 'node:util';
import type { Emulator } from './server.js';
import { startGeminiEmulator } from './google.js';
import { startOllamaEmulator } from './ollama.js';
import { startOpenAICompatibleEmulator } from './openai-compatible.js';

const USAGE = `usage: mana-emulator <ollama|gemini|openai> [options]

  --port N              port to listen on (0: any free port)   [env EMULATOR_PORT]
  --host H              address to bind (default 127.0.0.1)    [env EMULATOR_HOST]
  --ttft-ms N           time to first token                    [env EMULATOR_TTFT_MS]
  --token-ms N          time between tokens                    [env EMULATOR_TOKEN_MS]
ollama:
  --slots N             requests generating at once (OLLAMA_NUM_PARALLEL, default 1)
  --max-queue N         waiting requests before 503 "server busy" (default unbounded)
  --load-ms N           cold model load time, no headers meanwhile (default 0)
gemini, openai:
  --api-key K           the key clients must send (gemini default: emulator-key; openai: any)
gemini:
  --quota-per-minute N  requests per minute before 429 RESOURCE_EXHAUSTED

Faults and stats at run time: POST/DELETE /_emulator/faults, GET /_emulator/stats.`;

function num(value: string | undefined, flag: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} expects a whole number ≥ 0, got "${value}"`);
  return n;
}

export async function main(argv: readonly string[]): Promise<Emulator | undefined> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'ttft-ms': { type: 'string' },
      'token-ms': { type: 'string' },
      slots: { type: 'string' },
      'max-queue': { type: 'string' },
      'load-ms': { type: 'string' },
      'api-key': { type: 'string' },
      'quota-per-minute': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const kind = positionals[0];
  if (values.help || !kind) {
    console.log(USAGE);
    return undefined;
  }
  const env = process.env;
  const common = {
    port: num(values.port ?? env.EMULATOR_PORT, '--port') ?? 0,
    host: values.host ?? env.EMULATOR_HOST ?? '127.0.0.1',
    timeToFirstTokenMs: num(values['ttft-ms'] ?? env.EMULATOR_TTFT_MS, '--ttft-ms'),
    perTokenMs: num(values['token-ms'] ?? env.EMULATOR_TOKEN_MS, '--token-ms'),
  };
  const apiKey = values['api-key'] ?? env.EMULATOR_API_KEY;
  let emulator: Emulator;
  if (kind === 'ollama') {
    emulator = await startOllamaEmulator({
      ...common,
      slots: num(values.slots, '--slots') ?? 1,
      maxQueue: num(values['max-queue'], '--max-queue'),
      loadMs: num(values['load-ms'], '--load-ms'),
    });
  } else if (kind === 'gemini') {
    emulator = await startGeminiEmulator({ ...common, ...(apiKey ? { apiKey } : {}), quotaPerMinute: num(values['quota-per-minute'], '--quota-per-minute') });
  } else if (kind === 'openai') {
    emulator = await startOpenAICompatibleEmulator({ ...common, ...(apiKey ? { apiKey } : {}) });
  } else {
    throw new Error(`unknown emulator "${kind}"\n\n${USAGE}`);
  }
  console.log(`${kind} emulator listening on ${emulator.url}`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return emulator;
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  console.error(`mana-emulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}

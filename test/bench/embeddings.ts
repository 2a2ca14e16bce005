import OpenAI from 'openai';
import { Ollama } from 'ollama';
import { startOllamaEmulator } from '@mana/emulators';
import type { BenchEnv } from './env.js';
import { BASELINE_ROOT, BENCH_ROUNDS, type Gateway, closedLoop, inRoundOrder, median, startGateway, table } from './lib.js';

const ROUNDS = BENCH_ROUNDS;
const INPUTS = 16;
const IN_FLIGHT = 50;
const COUNT = 600;

/**
 * Embeddings at 50 in flight, 16 inputs × 768 dimensions per request,
 * through Mana (the openai SDK, which asks for base64, and plain JSON
 * floats) against the ollama client calling the same emulator directly, in
 * interleaved rounds. Goal: Mana ≥ 0.9× direct.
 */
export async function benchEmbeddings(bench: BenchEnv): Promise<void> {
  const gpu = await startOllamaEmulator({ slots: 256 });
  // The emulator shares this process with the load. While the direct client's rounds keep it busy, a
  // gateway sends it nothing, and a probe's answer can lag past its 2 s timeout: the gateway would rightly
  // mark the GPU down and answer its own next round 502. One probe at start, then none while measuring.
  const env = () => bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64', MANA_HEALTH_INTERVAL_MS: '600000' });
  const gateways: Array<[string, Gateway]> = [['mana', await startGateway(env())]];
  if (BASELINE_ROOT) gateways.push(['baseline', await startGateway(env(), BASELINE_ROOT)]);
  const input = Array.from({ length: INPUTS }, (_, i) => `passage ${i}: the quick brown fox jumps over the lazy dog`);
  const direct = new Ollama({ host: gpu.url });
  const paths: Array<[string, () => Promise<void>]> = [['direct (ollama SDK)', async () => void (await direct.embed({ model: 'nomic-embed-text', input }))]];
  for (const [name, gateway] of gateways) {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
    paths.push([`${name}, openai SDK (base64)`, async () => void (await client.embeddings.create({ model: 'ollama/nomic-embed-text', input }))]);
    paths.push([`${name}, JSON floats`, async () => void (await client.embeddings.create({ model: 'ollama/nomic-embed-text', input, encoding_format: 'float' }))]);
  }
  try {
    for (const [, run] of paths) await closedLoop(200, IN_FLIGHT, run);
    const rates = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of inRoundOrder(paths, round)) {
        const { wallMs } = await closedLoop(COUNT, IN_FLIGHT, run);
        rates.set(name, [...(rates.get(name) ?? []), COUNT / (wallMs / 1000)]);
      }
    }
    const base = median(rates.get(paths[0]![0])!);
    table(
      `Embeddings — ${INPUTS} × 768 per request, ${IN_FLIGHT} in flight (req/s, median of ${ROUNDS} interleaved rounds; goal: Mana ≥ 0.9× direct)`,
      ['path', 'req/s', 'vs direct'],
      paths.map(([name]) => {
        const rate = median(rates.get(name)!);
        return [name, rate, rate / base];
      }),
    );
  } finally {
    for (const [, gateway] of gateways) await gateway.stop();
    await gpu.close();
  }
}

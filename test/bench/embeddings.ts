import OpenAI from 'openai';
import { Ollama } from 'ollama';
import { startOllamaEmulator } from '@mana/emulators';
import { availableParallelism } from 'node:os';
import { cpuBudget, cpuPer, redisPid } from './cpu.js';
import type { BenchEnv } from './env.js';
import { BASELINE_ROOT, BENCH_ROUNDS, type Gateway, closedLoop, inRoundOrder, median, startGateway, startQueuedProxy, startStatelessProxy, table } from './lib.js';

const ROUNDS = BENCH_ROUNDS;
const INPUTS = 16;
const IN_FLIGHT = 50;
const COUNT = 600;

/**
 * Embeddings at 50 in flight, 16 inputs × 768 dimensions per request,
 * through Mana (the openai SDK, which asks for base64, and plain JSON
 * floats) against the ollama client calling the same emulator directly, in
 * interleaved rounds, beside a stateless Node proxy doing the same (the
 * floor) and the same proxy queueing through BullMQ (the floor of a gateway
 * that queues). Goal: Mana ≥ 0.9× direct.
 */
export async function benchEmbeddings(bench: BenchEnv): Promise<void> {
  const gpu = await startOllamaEmulator({ slots: 256 });
  // The emulator shares this process with the load. While the direct client's rounds keep it busy, a
  // gateway sends it nothing, and a probe's answer can lag past its 2 s timeout: the gateway would rightly
  // mark the GPU down and answer its own next round 502. One probe at start, then none while measuring.
  const env = () => bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64', MANA_HEALTH_INTERVAL_MS: '600000' });
  const gateways: Array<[string, Gateway]> = [['mana', await startGateway(env())]];
  if (BASELINE_ROOT) gateways.push(['baseline', await startGateway(env(), BASELINE_ROOT)]);
  // The floor: a Node proxy that keeps nothing, parses Ollama's floats and sends them on; what any gateway pays here.
  gateways.push(['stateless Node proxy (floor)', await startStatelessProxy(gpu.url)]);
  // The floor of a gateway that queues: the same proxy, each call a BullMQ job whose answer (the vectors, packed) crosses Redis once.
  gateways.push(['queued Node proxy (floor)', await startQueuedProxy(gpu.url, bench.redisUrl)]);
  const input = Array.from({ length: INPUTS }, (_, i) => `passage ${i}: the quick brown fox jumps over the lazy dog`);
  const direct = new Ollama({ host: gpu.url });
  type Path = [name: string, run: () => Promise<void>, gateway: Gateway | undefined];
  const paths: Path[] = [['direct (ollama SDK)', async () => void (await direct.embed({ model: 'nomic-embed-text', input })), undefined]];
  for (const [name, gateway] of gateways) {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
    paths.push([`${name}, openai SDK (base64)`, async () => void (await client.embeddings.create({ model: 'ollama/nomic-embed-text', input })), gateway]);
    paths.push([`${name}, JSON floats`, async () => void (await client.embeddings.create({ model: 'ollama/nomic-embed-text', input, encoding_format: 'float' })), gateway]);
  }
  try {
    for (const [, run] of paths) await closedLoop(200, IN_FLIGHT, run);
    const redis = await redisPid(bench.redisUrl);
    const rates = new Map<string, number[]>();
    // CPU per request, ms, each round: the gateway's process, Redis, this one (the clients and the emulator).
    const cpu = new Map<string, Array<Array<number | undefined>>>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run, gateway] of inRoundOrder(paths, round)) {
        const { result, perUnit } = await cpuPer([gateway?.pid, redis, process.pid], COUNT, () => closedLoop(COUNT, IN_FLIGHT, run));
        rates.set(name, [...(rates.get(name) ?? []), COUNT / (result.wallMs / 1000)]);
        cpu.set(name, [...(cpu.get(name) ?? []), perUnit]);
      }
    }
    const base = median(rates.get(paths[0]![0])!);
    // Less noisy than a rate on a shared box: what a path costs each process, whatever else ran.
    const cpuOf = (name: string, i: number) => {
      const samples = cpu
        .get(name)!
        .map((c) => c[i])
        .filter((ms): ms is number => ms !== undefined);
      return samples.length > 0 ? median(samples) : '–';
    };
    table(
      `Embeddings — ${INPUTS} × 768 per request, ${IN_FLIGHT} in flight (req/s, median of ${ROUNDS} interleaved rounds; goal: Mana ≥ 0.9× direct; CPU per request in ms)`,
      ['path', 'req/s', 'vs direct', 'gateway CPU', 'Redis CPU', 'bench process CPU'],
      paths.map(([name, , gateway]) => {
        const rate = median(rates.get(name)!);
        return [name, rate, rate / base, gateway ? cpuOf(name, 0) : '–', gateway ? cpuOf(name, 1) : '–', cpuOf(name, 2)];
      }),
    );
    // The goal in CPU: what 0.9× direct leaves Mana's process and Redis once the bench process (clients, emulator) has had its share.
    const ms = (name: string, i: number) => {
      const value = cpuOf(name, i);
      return typeof value === 'number' ? value : Number.NaN;
    };
    const floor = (kind: string) => paths.find(([name]) => name.startsWith(kind))![0];
    const mana = paths[1]![0];
    const cores = availableParallelism();
    const budget = cpuBudget('≥ 0.9× direct', 0.9 * base, cores, ms(mana, 2));
    if (Number.isFinite(budget.benchShare))
      table(
        `The goal as CPU per request on ${cores} cores, base64, ms: all processes together may spend cores ÷ rate; the bench process's share (measured on Mana's path) leaves the rest to the gateway's process and Redis`,
        ['goal', 'req/s', 'all processes', 'bench process', 'left for gateway + Redis', 'Mana: gateway + Redis', 'queued floor: the same', 'stateless floor: the same'],
        [
          [
            budget.goal,
            budget.rate,
            budget.total,
            budget.benchShare,
            budget.gatewayAndRedis,
            ...[mana, floor('queued'), floor('stateless')].map((name) => ms(name, 0) + ms(name, 1)),
          ],
        ],
      );
  } finally {
    for (const [, gateway] of gateways) await gateway.stop();
    await gpu.close();
  }
}

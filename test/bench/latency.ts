import { Ollama } from 'ollama';
import { startOllamaEmulator } from '@mana/emulators';
import { type BenchEnv } from './env.js';
import { startBareBullmq } from './bare-bullmq.js';
import { BASELINE_ROOT, BENCH_ROUNDS, type Gateway, closedLoop, inRoundOrder, median, percentile, startGateway, startQueuedProxy, startStatelessProxy, table } from './lib.js';
import { type CommandCost, commandsPerRequest } from './redis-commands.js';
import { DelayedRedis, roundTripsPerRequest } from './delayed-redis.js';

const ROUNDS = BENCH_ROUNDS;
const STATELESS = 'stateless Node proxy (floor)';
const QUEUED = 'queued Node proxy (floor: BullMQ, nothing else)';
const BARE = 'bare BullMQ add → process → completed';

/**
 * Added latency: a sync chat through Mana vs the ollama client calling the
 * same zero-latency emulator directly, one at a time and at 50 in flight,
 * in interleaved rounds (medians of the rounds' percentiles). With
 * BENCH_BASELINE, the baseline checkout's gateway runs in the same rounds.
 */
export async function benchLatency(bench: BenchEnv): Promise<void> {
  const gpu = await startOllamaEmulator({ slots: 256 });
  const env = bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' });
  const gateways: Array<[string, Gateway]> = [['mana', await startGateway(env)]];
  if (BASELINE_ROOT) gateways.push(['baseline', await startGateway(bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' }), BASELINE_ROOT)]);
  // The floor: what a gateway that keeps nothing adds, in Node, on this machine.
  gateways.push([STATELESS, await startStatelessProxy(gpu.url)]);
  // The floor of a gateway that queues: the same proxy, each call a BullMQ job run by its own Worker.
  gateways.push([QUEUED, await startQueuedProxy(gpu.url, bench.redisUrl)]);
  // The other floor: BullMQ's cheapest loop (worker and waiter in this process, nothing kept), no HTTP.
  const bareLoop = startBareBullmq(bench.redisUrl, 50);
  const direct = new Ollama({ host: gpu.url });
  const messages = [{ role: 'user' as const, content: 'ping' }];
  const viaOllama = async () => void (await direct.chat({ model: 'gemma3:4b', messages }));
  const via = (gateway: Gateway) => async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ollama/gemma3:4b', messages }),
    });
    if (res.status !== 200) throw new Error(`mana answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  try {
    // Warm every path (JIT, connections, loaded scripts) before measuring.
    for (const [, gateway] of gateways) await closedLoop(300, 10, via(gateway));
    await closedLoop(300, 10, viaOllama);
    await closedLoop(300, 10, bareLoop.run);
    const rows: Array<Array<string | number>> = [];
    for (const [label, count, inFlight] of [
      ['1 in flight', 300, 1],
      ['50 in flight', 3000, 50],
    ] as const) {
      const samples = new Map<string, Array<{ p50: number; p99: number }>>();
      const record = (name: string, latencies: number[]) => samples.set(name, [...(samples.get(name) ?? []), { p50: percentile(latencies, 50), p99: percentile(latencies, 99) }]);
      for (let round = 0; round < ROUNDS; round++) {
        const runs: Array<[string, () => Promise<void>]> = [
          ['direct', viaOllama],
          [BARE, bareLoop.run],
          ...gateways.map(([name, gateway]): [string, () => Promise<void>] => [name, via(gateway)]),
        ];
        for (const [name, run] of inRoundOrder(runs, round)) record(name, (await closedLoop(count, inFlight, run)).latencies);
      }
      const med = (name: string, p: 'p50' | 'p99') => median(samples.get(name)!.map((s) => s[p]));
      for (const [name] of gateways) {
        const [b50, b99, m50, m99] = [med('direct', 'p50'), med('direct', 'p99'), med(name, 'p50'), med(name, 'p99')];
        rows.push([label, name, b50, m50, m50 - b50, b99, m99, m99 - b99]);
      }
      if (inFlight === 1) {
        // Any gateway that answers over HTTP and queues through BullMQ pays at least both floors.
        const [bare50, bare99] = [med(BARE, 'p50'), med(BARE, 'p99')];
        rows.push([label, `${BARE} (no HTTP)`, '–', bare50, bare50, '–', bare99, bare99]);
        rows.push([label, 'both floors: stateless proxy + bare BullMQ', '–', '–', med(STATELESS, 'p50') - med('direct', 'p50') + bare50, '–', '–', '–']);
      }
    }
    table(
      `Added latency — sync chat, zero-latency emulated GPU, logs at info (ms, medians of ${ROUNDS} interleaved rounds; goal at 1 in flight: added p50 ≤ 1.0, added p99 ≤ 4; the queued proxy, and "both floors" summed, are the least an HTTP gateway queued through BullMQ adds on this machine)`,
      ['load', 'gateway', 'direct p50', 'p50', 'added p50', 'direct p99', 'p99', 'added p99'],
      rows,
    );
    // What each request costs Redis, one at a time, beside a bare BullMQ add → process → completed.
    const bare = startBareBullmq(bench.redisUrl, 1);
    const costs: Array<[string, CommandCost]> = [['bare BullMQ add → process → completed', await commandsPerRequest(bench.redisUrl, 200, bare.run).finally(() => bare.close())]];
    for (const [name, gateway] of gateways.filter(([name]) => name !== STATELESS))
      costs.push([name === QUEUED ? name : `${name} sync chat`, await commandsPerRequest(bench.redisUrl, 200, via(gateway))]);
    table(
      'Redis commands per request (sent: commands clients send, a script once; run: what Redis executes, scripts included; goal: sent ≤ 25)',
      ['path', 'sent', 'run'],
      costs.map(([name, cost]) => [name, cost.sent.toFixed(1), cost.executed.toFixed(1)]),
    );
    // Round trips a request waits for: the same gateways again, through a proxy that can hold Redis's traffic.
    const proxy = await DelayedRedis.start(bench.redisUrl);
    const trips: Array<[string, number]> = [];
    try {
      for (const [name, root] of [['mana', undefined], ...(BASELINE_ROOT ? [['baseline', BASELINE_ROOT]] : [])] as Array<[string, string | undefined]>) {
        const held = await startGateway({ ...bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' }), REDIS_URL: proxy.url }, root);
        try {
          await closedLoop(100, 1, via(held));
          trips.push([name, await roundTripsPerRequest(proxy, 60, via(held))]);
        } finally {
          await held.stop();
        }
      }
    } finally {
      await proxy.close();
    }
    table(
      'Redis round trips a sync chat waits for, 1 in flight (its latency gained with every Redis chunk held 5 ms each way, over one PING’s gain; goal ≤ 6)',
      ['gateway', 'round trips'],
      trips.map(([name, n]) => [name, n.toFixed(1)]),
    );
    const mine = costs[1]![1];
    table(
      'Mana: the most frequent commands per sync chat',
      ['command', 'where', 'per request'],
      mine.top.slice(0, 12).map((c) => [c.name, c.inScripts ? 'in a script' : 'sent', c.perRequest.toFixed(2)]),
    );
  } finally {
    await bareLoop.close();
    for (const [, gateway] of gateways) await gateway.stop();
    await gpu.close();
  }
}

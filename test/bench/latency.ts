import { Ollama } from 'ollama';
import { startOllamaEmulator } from '@mana/emulators';
import { type BenchEnv } from './env.js';
import { closedLoop, percentile, startGateway, table } from './lib.js';
import { startBareBullmq } from './bare-bullmq.js';
import { commandsPerRequest } from './redis-commands.js';

/**
 * Added latency: a sync chat through Mana vs the ollama client calling the
 * same zero-latency emulator directly, one at a time and at 50 in flight.
 */
export async function benchLatency(bench: BenchEnv): Promise<void> {
  const gpu = await startOllamaEmulator({ slots: 256 });
  const gateway = await startGateway(bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' }));
  const direct = new Ollama({ host: gpu.url });
  const messages = [{ role: 'user' as const, content: 'ping' }];
  const viaOllama = async () => void (await direct.chat({ model: 'gemma3:4b', messages }));
  const viaMana = async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ollama/gemma3:4b', messages }),
    });
    if (res.status !== 200) throw new Error(`mana answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  try {
    // Warm both paths (JIT, connections, loaded scripts) before measuring.
    await closedLoop(300, 10, viaMana);
    await closedLoop(300, 10, viaOllama);
    const rows: Array<Array<string | number>> = [];
    for (const [label, count, inFlight] of [
      ['1 in flight', 400, 1],
      ['50 in flight', 4000, 50],
    ] as const) {
      const base = await closedLoop(count, inFlight, viaOllama);
      const mana = await closedLoop(count, inFlight, viaMana);
      const [b50, b99, m50, m99] = [percentile(base.latencies, 50), percentile(base.latencies, 99), percentile(mana.latencies, 50), percentile(mana.latencies, 99)];
      rows.push([label, b50, m50, m50 - b50, b99, m99, m99 - b99, m50 / b50]);
    }
    table(
      'Added latency — sync chat, zero-latency emulated GPU (ms; goal: p50 added ≤ 2.5, p99 added ≤ 10)',
      ['load', 'direct p50', 'mana p50', 'added p50', 'direct p99', 'mana p99', 'added p99', 'p50 ratio'],
      rows,
    );
    // What each request costs Redis, one at a time, beside a bare BullMQ add → process → completed.
    const bare = startBareBullmq(bench.redisUrl, 1);
    const bareCost = await commandsPerRequest(bench.redisUrl, 200, bare.run).finally(() => bare.close());
    const cost = await commandsPerRequest(bench.redisUrl, 200, viaMana);
    table(
      'Redis commands per sync chat (sent: round trips a client makes, a script counts once; executed: scripts' + "'" + ' insides too)',
      ['path', 'sent', 'executed', 'goal'],
      [
        ['Mana sync chat', cost.sent.toFixed(1), cost.executed.toFixed(1), 'sent ≤ 25'],
        ['bare BullMQ add → process → completed', bareCost.sent.toFixed(1), bareCost.executed.toFixed(1), ''],
      ],
    );
    table(
      'Mana: the most frequent commands per sync chat',
      ['command', 'where', 'per request'],
      cost.top.slice(0, 14).map((c) => [c.name, c.inScripts ? 'in a script' : 'sent', c.perRequest.toFixed(2)]),
    );
  } finally {
    await gateway.stop();
    await gpu.close();
  }
}

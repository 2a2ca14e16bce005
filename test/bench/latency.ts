import { Ollama } from 'ollama';
import { startOllamaEmulator } from '@mana/emulators';
import { type BenchEnv } from './env.js';
import { closedLoop, percentile, startGateway, table } from './lib.js';
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
    // What each request costs Redis, one at a time (issue 15's goal: ≤ 25 commands per sync chat).
    const { total, top } = await commandsPerRequest(bench.redisUrl, 200, viaMana);
    table(
      `Redis commands per sync chat: ${total.toFixed(1)} (goal ≤ 25)`,
      ['command', 'per request'],
      top.slice(0, 12).map(([name, n]) => [name, n.toFixed(2)]),
    );
  } finally {
    await gateway.stop();
    await gpu.close();
  }
}

import { availableParallelism } from 'node:os';
import { startOllamaEmulator } from '@mana/emulators';
import { startBareBullmq } from './bare-bullmq.js';
import { cpuBudget, cpuPer, redisPid } from './cpu.js';
import type { BenchEnv } from './env.js';
import { BASELINE_ROOT, BENCH_ROUNDS, type Gateway, chatCaller, closedLoop, inRoundOrder, median, startGateway, startQueuedProxy, startStatelessProxy, table } from './lib.js';

const ROUNDS = BENCH_ROUNDS;

interface Path {
  name: string;
  call: () => Promise<void>;
  /** The gateway's process, if the path has one (bare BullMQ's worker runs in this process). */
  gateway?: Gateway;
  rates: number[];
  /** CPU per request, ms, each round: [gateway process, Redis, this process (the clients, the emulator; bare BullMQ's worker)]. */
  cpu: Array<Array<number | undefined>>;
}

/**
 * Requests per second at 50 in flight through the HTTP API (zero-latency
 * emulated GPU) against a bare BullMQ loop — add a job, a Worker processes
 * it, wait for completion — on the same Redis, in interleaved rounds, with
 * the CPU each process spent per request: on a box this size every process
 * shares two cores, so CPU per request is what bounds the rate.
 */
export async function benchThroughput(bench: BenchEnv): Promise<void> {
  const count = 3000;
  const bare = startBareBullmq(bench.redisUrl, 50);
  const gpu = await startOllamaEmulator({ slots: 256 });
  const env = () => bench.env({ OLLAMA_HOSTS: `gpu0=${gpu.url}`, OLLAMA_MAX_CONCURRENT: '64' });
  const paths: Path[] = [{ name: 'bare BullMQ add → process → completed', call: bare.run, rates: [], cpu: [] }];
  const add = async (name: string, root?: string) => {
    const gateway = await startGateway(env(), root);
    paths.push({ name, call: chatCaller(gateway.url, 'ollama/gemma3:4b', 'ping'), gateway, rates: [], cpu: [] });
  };
  try {
    await add('Mana HTTP API (job record, events, worker, SDK)');
    if (BASELINE_ROOT) await add('baseline checkout, the same', BASELINE_ROOT);
    // The floor: HTTP in, HTTP out, nothing kept; what any Node gateway pays on this machine.
    const floor = await startStatelessProxy(gpu.url);
    paths.push({ name: 'stateless Node proxy (floor: keeps nothing)', call: chatCaller(floor.url, 'ollama/gemma3:4b', 'ping'), gateway: floor, rates: [], cpu: [] });
    // The floor of a gateway that queues: the same proxy, each call a BullMQ job run by its own Worker.
    const queued = await startQueuedProxy(gpu.url, bench.redisUrl);
    paths.push({ name: 'queued Node proxy (floor: BullMQ, nothing else)', call: chatCaller(queued.url, 'ollama/gemma3:4b', 'ping'), gateway: queued, rates: [], cpu: [] });
    const redis = await redisPid(bench.redisUrl);
    for (const path of paths) await closedLoop(500, 50, path.call);
    // Interleaved rounds, medians: on a noisy machine one round each, one after the other, differs by ±15 %.
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of inRoundOrder(paths, round)) {
        const { result, perUnit } = await cpuPer([path.gateway?.pid, redis, process.pid], count, () => closedLoop(count, 50, path.call));
        path.rates.push(count / (result.wallMs / 1000));
        path.cpu.push(perUnit);
      }
    }
    const bareRate = median(paths[0]!.rates);
    table(
      `Throughput at 50 in flight, logs at info (req/s, median of ${ROUNDS} interleaved rounds; goal: Mana ≥ 2,500 and ≥ 0.35 of bare BullMQ)`,
      ['path', 'requests', 'req/s', 'vs bare BullMQ'],
      paths.map((p) => [p.name, count, median(p.rates), median(p.rates) / bareRate]),
    );
    if (paths[0]!.cpu[0]!.every((v) => v === undefined)) return; // no /proc here
    const cpu = (p: Path, i: number) => {
      const values = p.cpu.map((c) => c[i]).filter((v): v is number => v !== undefined);
      return values.length === 0 ? '–' : median(values);
    };
    const cores = availableParallelism();
    const ms = (p: Path, i: number) => {
      const value = cpu(p, i);
      return typeof value === 'number' ? value : 0;
    };
    const total = (p: Path) => ms(p, 0) + ms(p, 1) + ms(p, 2);
    const rows = paths.map((p) => [p.name, cpu(p, 0), cpu(p, 1), cpu(p, 2), total(p), (cores * 1000) / total(p)]);
    // An HTTP gateway that queues through BullMQ does at least what both floors do, each measured alone.
    const [barePath, mana, proxy, queuedProxy] = [paths[0]!, paths[1]!, paths.at(-2)!, paths.at(-1)!];
    const floors = total(barePath) + total(proxy);
    rows.push(['both floors: stateless proxy + bare BullMQ', '–', '–', '–', floors, (cores * 1000) / floors]);
    table(
      `CPU per request at 50 in flight, ms (medians of the rounds; ${process.version}); the rate cannot pass ${cores} cores ÷ the total, and the queued proxy, and "both floors" summed, bound any HTTP gateway queued through BullMQ on this machine`,
      ['path', 'gateway process', 'Redis', 'bench process (clients, emulator; bare: its worker)', 'total', `${cores} cores ÷ total, req/s`],
      rows,
    );
    // The rate goals in CPU: what they leave Mana's process and Redis once the bench process has had its share.
    const budgets = [cpuBudget('≥ 2,500 req/s', 2500, cores, ms(mana, 2)), cpuBudget('≥ 0.35 of bare BullMQ', 0.35 * bareRate, cores, ms(mana, 2))];
    // Both floors' own work: the proxy's process, and bare BullMQ's Redis and process (its worker, and the adding and waiting Mana's API does).
    const floorsOwn = ms(proxy, 0) + ms(barePath, 1) + ms(barePath, 2);
    table(
      `The rate goals as CPU per request on ${cores} cores, ms: all processes together may spend cores ÷ rate; the bench process's share (measured on Mana's path) leaves the rest to the gateway's process and Redis`,
      ['goal', 'req/s', 'all processes', 'bench process', 'left for gateway + Redis', 'Mana: gateway + Redis', 'queued proxy: the same', 'both floors: the same'],
      budgets.map((b) => [b.goal, b.rate, b.total, b.benchShare, b.gatewayAndRedis, ms(mana, 0) + ms(mana, 1), ms(queuedProxy, 0) + ms(queuedProxy, 1), floorsOwn]),
    );
  } finally {
    for (const path of paths) await path.gateway?.stop();
    await bare.close();
    await gpu.close();
  }
}

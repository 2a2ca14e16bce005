import { startLocalRedis } from '@mana/local-redis';
import { benchEnv } from './env.js';
import { benchEmbeddings } from './embeddings.js';
import { benchFailover } from './failover.js';
import { benchFairness } from './fairness.js';
import { benchFleet } from './fleet.js';
import { benchIngest } from './ingest.js';
import { benchIsolation } from './isolation.js';
import { benchLatency } from './latency.js';
import { benchScale } from './scale.js';
import { benchThroughput } from './throughput.js';
import { benchUtilisation } from './utilisation.js';

// `npm run bench`: every goal measured against a baseline taken in the same run.
// The machine is noisy: read medians and ratios, and run twice before believing a change.
const only = process.argv.slice(2);
const local = process.env.REDIS_URL ? undefined : await startLocalRedis();
const bench = benchEnv(process.env.REDIS_URL ?? local!.url);
console.log(`Mana benchmarks — node ${process.version}, Redis ${bench.redisUrl}${local ? ' (started for this run)' : ''}`);
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) {
  // Every process the benches start runs on this Node, and 20 is measurably slower than what users run.
  console.log(`Node ${nodeMajor} is past its end of life; users run 22 or 24, on which the gateway spends less CPU per request: run the benches on 24 (README, Benchmarks).`);
}
try {
  if (only.length === 0 || only.includes('latency')) await benchLatency(bench);
  if (only.length === 0 || only.includes('throughput')) await benchThroughput(bench);
  if (only.length === 0 || only.includes('scale')) await benchScale(bench);
  if (only.length === 0 || only.includes('embeddings')) await benchEmbeddings(bench);
  if (only.length === 0 || only.includes('utilisation')) await benchUtilisation(bench);
  if (only.length === 0 || only.includes('ingest')) await benchIngest(bench);
  if (only.length === 0 || only.includes('isolation')) await benchIsolation(bench);
  if (only.length === 0 || only.includes('fleet')) await benchFleet(bench);
  if (only.length === 0 || only.includes('failover')) await benchFailover(bench);
  if (only.length === 0 || only.includes('fairness')) await benchFairness(bench);
} finally {
  local?.stop();
}

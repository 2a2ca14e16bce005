import type { TestProject } from 'vitest/node';
import { type LocalRedis, type LocalRedisCluster, startLocalCluster, startLocalRedis, waitForRedis } from '@mana/local-redis';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** Seed nodes when the run is against a Redis Cluster, else empty. */
    redisClusterNodes: string;
  }
}

/**
 * One Redis for the whole run: REDIS_URL when set, else a redis-server of our
 * own on a free port (never the machine's shared 6379). With
 * REDIS_CLUSTER_NODES the run uses that Redis Cluster instead, and with
 * TEST_REDIS_CLUSTER=1 (`npm run test:cluster`) a 3-master cluster of its own.
 * Fails fast, saying how to fix it, when none is possible. Each test then
 * keeps its keys under its own prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let local: LocalRedis | LocalRedisCluster | undefined;
  let clusterNodes = process.env.REDIS_CLUSTER_NODES ?? '';
  let url = process.env.REDIS_URL;
  if (!clusterNodes && process.env.TEST_REDIS_CLUSTER === '1') {
    local = await startLocalCluster(3);
    clusterNodes = local.nodes;
  }
  if (clusterNodes) url = `redis://${clusterNodes.split(',')[0]}`;
  else if (url) await waitForRedis(url);
  else {
    local = await startLocalRedis();
    url = local.url;
  }
  project.provide('redisUrl', url);
  project.provide('redisClusterNodes', clusterNodes);
  return async () => local?.stop();
}

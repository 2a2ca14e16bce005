import type { TestProject } from 'vitest/node';
import { type LocalRedis, startLocalRedis, waitForRedis } from '@mana/local-redis';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One Redis for the whole run: REDIS_URL when set, else a redis-server of our
 * own on a free port (never the machine's shared 6379). Fails fast, saying
 * how to fix it, when neither is possible. Each test then keeps its keys
 * under its own prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let local: LocalRedis | undefined;
  let url = process.env.REDIS_URL;
  if (url) await waitForRedis(url);
  else {
    local = await startLocalRedis();
    url = local.url;
  }
  project.provide('redisUrl', url);
  return async () => local?.stop();
}

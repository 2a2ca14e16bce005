import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface BenchEnv {
  redisUrl: string;
  /** A gateway environment under a fresh key prefix, with these settings on top. */
  env(extra: Record<string, string>): Record<string, string>;
}

const ALIASES = fileURLToPath(new URL('../../aliases.yaml', import.meta.url));

export function benchEnv(redisUrl: string): BenchEnv {
  return {
    redisUrl,
    env: (extra) => ({
      REDIS_URL: redisUrl,
      MANA_REDIS_PREFIX: `mana-bench:${randomUUID().slice(0, 8)}`,
      PORT: '0',
      MANA_ALIASES_PATH: ALIASES,
      GOOGLE_API_KEY: 'bench-key',
      GOOGLE_BASE_URL: 'http://127.0.0.1:9',
      MANA_HEALTH_INTERVAL_MS: '1000',
      ...extra,
    }),
  };
}

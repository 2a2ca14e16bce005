import { loadConfig } from '@mana/config';
import { ConfigError } from '@mana/errors';
import { createLogger, keepRunningOnUnhandledRejections } from '@mana/logging';
import { startApi } from './start-api.js';

// The API process: loadConfig → connections → app → listen → signals.
try {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel, 'mana-api');
  keepRunningOnUnhandledRejections(log);
  const api = await startApi(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining in-flight requests');
    void api.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

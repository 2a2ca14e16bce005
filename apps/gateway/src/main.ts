import { startApi } from '@mana/api';
import { loadConfig } from '@mana/config';
import { ConfigError } from '@mana/errors';
import { createLogger, keepRunningOnUnhandledRejections } from '@mana/logging';
import { startWorkers } from '@mana/worker';

// API and workers in one process: the single-box deployment (`npm start`).
// Real providers only: a provider that is down is routed around, never replaced by an emulator.
try {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel, 'mana');
  keepRunningOnUnhandledRejections(log);
  const workers = await startWorkers(config, log);
  const api = await startApi(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining requests and in-flight jobs');
    void Promise.all([api.close(), workers.close()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

import { loadConfig } from '@mana/config';
import { ConfigError } from '@mana/errors';
import { createLogger, keepRunningOnUnhandledRejections } from '@mana/logging';
import { startWorkers } from './start-workers.js';

// The worker process: loadConfig → workers → graceful close on SIGTERM/SIGINT.
try {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel, 'mana-worker');
  keepRunningOnUnhandledRejections(log);
  const workers = await startWorkers(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping: finishing in-flight jobs');
    void workers.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Workers carry the chain each job was resolved with and read no aliases; SIGHUP re-reads prices.yaml (see startWorkers).
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout. Secrets and prompt text are never logged:
 * callers log ids, targets and codes, and these paths are redacted in case
 * one slips into a logged object.
 */
export function createLogger(level: string, name: string): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'messages', '*.messages', 'input', '*.input'],
        censor: '[redacted]',
      },
    },
    // Written asynchronously: lines logged meanwhile go out in one write, not one write each
    // (a request line per request at info costs ~20 % of throughput written synchronously).
    // pino flushes what is pending when the process exits.
    pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * A server process outlives a promise that rejected with nobody listening:
 * it is logged (with the words "unhandled rejection", which tests look for)
 * as the bug it is, and the process carries on serving everyone else, as a
 * crash would not. Every known path handles its own rejections; this is the
 * last resort.
 */
export function keepRunningOnUnhandledRejections(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled rejection (a bug: please report it); the process carries on');
  });
}

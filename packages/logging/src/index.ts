import { pino, type Logger } from 'pino';

export type { Logger };

/** How long a log line may wait to be written with the ones after it. */
export const LOG_FLUSH_MS = 100;

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
    // Written asynchronously, gathered: lines go out together once 4 KB are pending, or every
    // LOG_FLUSH_MS, not one write each. Each write is a trip through libuv's thread pool (a thread
    // woken, the write, the loop woken to hear it finished): one per request at info was ~4 % of
    // the gateway's busy CPU at 50 in flight, plus those threads' own time (issue 15's note).
    // Written synchronously it cost ~20 % of throughput. pino flushes what is pending when the
    // process exits; a process killed outright (SIGKILL) loses at most the last LOG_FLUSH_MS.
    pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_MS }),
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

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout. Secrets and prompt text are never logged:
 * callers log ids, targets and codes, and these paths are redacted in case
 * one slips into a logged object.
 */
export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'messages', '*.messages', 'input', '*.input'],
      censor: '[redacted]',
    },
  });
}

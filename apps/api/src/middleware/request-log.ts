import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '@mana/logging';

/**
 * One JSON line per request: method, route, status, time, request id and,
 * when the request made a job, its id, provider and hops. Headers, bodies
 * and prompt text are never logged; probe routes are skipped.
 */
export function requestLog(log: Logger): RequestHandler {
  return pinoHttp({
    logger: log,
    genReqId: (_req, res) => String(res.getHeader('x-request-id') ?? ''),
    autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/ready' || req.url === '/metrics' },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split('?')[0] }),
      res: (res: { statusCode: number; headers?: Record<string, unknown> }) => ({
        status: res.statusCode,
        jobId: res.headers?.['x-mana-job-id'],
        provider: res.headers?.['x-mana-provider'],
        hops: res.headers?.['x-mana-hops'],
      }),
    },
  }) as unknown as RequestHandler;
}

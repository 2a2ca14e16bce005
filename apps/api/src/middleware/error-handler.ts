import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { ManaError, ValidationError } from '@mana/errors';
import type { Logger } from '@mana/logging';
import { errorBody } from '../openai/responses.js';

/**
 * The one place an error becomes an HTTP response, in OpenAI's error shape.
 * Bad input is a 400 naming the field; unknown failures are a 500 whose
 * details stay in the log.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof ZodError) {
      const issue = err.issues[0];
      const field = issue?.path.join('.') ?? '';
      res.status(400).json(errorBody({ code: 'invalid_request', message: `${field || 'body'}: ${issue?.message ?? 'invalid'}` }, field || null));
      return;
    }
    if (err instanceof ValidationError) {
      res.status(400).json(errorBody(err, err.field ?? null));
      return;
    }
    if (err instanceof ManaError) {
      res.status(err.httpStatus).json(errorBody(err));
      return;
    }
    const bodyError = err as { type?: string; status?: number };
    if (bodyError.type === 'entity.parse.failed') {
      res.status(400).json(errorBody({ code: 'invalid_request', message: 'the request body is not valid JSON' }));
      return;
    }
    if (bodyError.type === 'entity.too.large') {
      res.status(413).json(errorBody({ code: 'payload_too_large', message: 'the request body is too large' }));
      return;
    }
    if (isRedisUnavailable(err)) {
      log.error({ err: (err as Error).message, path: req.path }, 'redis unavailable');
      res.setHeader('retry-after', '5');
      res.status(503).json(errorBody({ code: 'service_unavailable', message: 'the job store (Redis) is unavailable; retry shortly' }));
      return;
    }
    log.error({ err, path: req.path, requestId: res.getHeader('x-request-id') }, 'unhandled error');
    res.status(500).json(errorBody({ code: 'internal_error', message: 'internal error' }));
  };
}

/** ioredis gave up on a command: Redis is down or unreachable, which is not the client's fault nor a bug. */
function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || err.message === 'Connection is closed.' || (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
}

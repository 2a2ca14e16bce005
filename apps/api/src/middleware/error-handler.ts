import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { type ErrorCode, ManaError, ValidationError } from '@mana/errors';
import { isStoreFull, isStoreUnavailable } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import { errorBody as openaiErrorBody } from '../openai/responses.js';

/** An error body in a surface's own shape: OpenAI's by default, Ollama's (`{"error": …}`) on /api. */
export type ErrorShape = (error: { code: ErrorCode; message: string }, param: string | null) => unknown;

/**
 * The one place an error becomes an HTTP response, in the surface's error
 * shape (OpenAI's unless told). Bad input is a 400 naming the field;
 * unknown failures are a 500 whose details stay in the log.
 */
export function errorHandler(log: Logger, errorBody: ErrorShape = openaiErrorBody): ErrorRequestHandler {
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
      if (err.retryAfterS !== undefined) res.setHeader('retry-after', String(err.retryAfterS));
      res.status(err.httpStatus).json(errorBody(err, null));
      return;
    }
    const clientError = asHttpClientError(err);
    if (clientError) {
      res.status(clientError.status).json(errorBody({ code: clientError.code, message: clientError.message }, null));
      return;
    }
    if (isStoreUnavailable(err)) {
      log.error({ err: (err as Error).message, path: req.path }, 'redis unavailable');
      res.setHeader('retry-after', '5');
      res.status(503).json(errorBody({ code: 'service_unavailable', message: 'the job store (Redis) is unavailable; retry shortly' }, null));
      return;
    }
    if (isStoreFull(err)) {
      log.error({ err: (err as Error).message, path: req.path }, 'redis is out of memory');
      res.setHeader('retry-after', '30');
      res.status(503).json(errorBody({ code: 'service_unavailable', message: 'the job store (Redis) is out of memory (maxmemory) and refuses new jobs; retry later' }, null));
      return;
    }
    log.error({ err, path: req.path, requestId: res.getHeader('x-request-id') }, 'unhandled error');
    res.status(500).json(errorBody({ code: 'internal_error', message: 'internal error' }, null));
  };
}

/**
 * Errors that Express and its body parsers raise for bad input (http-errors
 * objects carrying a 4xx `status`): a body that is not JSON, too large, in
 * an unsupported charset or encoding, or a path with a malformed
 * percent-escape. Each keeps its own status; none is a 500.
 */
function asHttpClientError(err: unknown): { status: number; code: ErrorCode; message: string } | undefined {
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; message?: unknown; expose?: unknown };
  if (e === null || typeof e !== 'object') return undefined;
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status > 499) return undefined;
  if (e.type === 'entity.parse.failed') return { status: 400, code: 'invalid_request', message: 'the request body is not valid JSON' };
  if (status === 413) return { status, code: 'payload_too_large', message: 'the request body is too large' };
  if (status === 415) return { status, code: 'unsupported_media_type', message: `${String(e.message)}: send the body as UTF-8 JSON` };
  if (err instanceof URIError || String(e.message).startsWith('Failed to decode param')) {
    return { status: 400, code: 'invalid_request', message: 'the path has a malformed percent-escape (%XX)' };
  }
  // Only messages http-errors marks safe to show (every 4xx) reach the client.
  return { status, code: 'invalid_request', message: e.expose === true && typeof e.message === 'string' ? e.message : 'bad request' };
}

import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

/** Takes the caller's x-request-id (when sane) or makes one, and echoes it on the response. */
export function requestId(): RequestHandler {
  return function assignRequestId(req, res, next) {
    const given = req.header('x-request-id');
    res.setHeader('x-request-id', given && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID());
    next();
  };
}

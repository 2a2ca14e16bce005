import type { RequestHandler } from 'express';
import { ManaError } from '@mana/errors';
import type { Pipeline } from '@mana/jobs';
import { tenantOf } from './auth.js';

/**
 * Requests per minute per tenant, counted in Redis so the limit holds across
 * API processes (a fixed one-minute window). Over it: 429 with Retry-After.
 */
export function tenantRateLimit(pipeline: Pipeline, perMinute: number): RequestHandler {
  return async function limitTenant(_req, res, next) {
    if (perMinute <= 0) return next();
    const tenant = tenantOf(res);
    const minute = Math.floor(Date.now() / 60_000);
    const key = `${pipeline.keys.prefix}:rl:{${tenant}}:${minute}`;
    const [[, count]] = (await pipeline.redis.multi().incr(key).expire(key, 61).exec()) as [[null, number], unknown];
    if (count > perMinute) {
      const retryAfter = Math.max(1, Math.ceil(((minute + 1) * 60_000 - Date.now()) / 1000));
      res.setHeader('retry-after', String(retryAfter));
      throw new ManaError('rate_limited', `tenant ${tenant} is over its limit of ${perMinute} requests per minute (MANA_TENANT_RPM); retry in ${retryAfter} s`);
    }
    next();
  };
}

import type { Pipeline } from '@mana/jobs';
import { ValidationError } from '@mana/errors';

const KEY = /^[\w.:-]{1,255}$/;
const TTL_S = 24 * 3600;

/**
 * Claims an Idempotency-Key for a new job id. Returns the id of the job an
 * earlier request with the same key created, or undefined when this request
 * now owns the key (SET NX: two racing requests cannot both own it).
 */
export async function claimIdempotencyKey(p: Pipeline, key: string, jobId: string, tenant = ''): Promise<string | undefined> {
  if (!KEY.test(key)) throw new ValidationError('Idempotency-Key must be 1-255 letters, digits, ".", ":", "_" or "-"', 'Idempotency-Key');
  const redisKey = `${p.keys.prefix}:idem:{${tenant}:${key}}`;
  if ((await p.redis.set(redisKey, jobId, 'EX', TTL_S, 'NX')) === 'OK') return undefined;
  return (await p.redis.get(redisKey)) ?? undefined;
}

export async function releaseIdempotencyKey(p: Pipeline, key: string, tenant = ''): Promise<void> {
  await p.redis.del(`${p.keys.prefix}:idem:{${tenant}:${key}}`);
}

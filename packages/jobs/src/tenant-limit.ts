import { ManaError } from '@mana/errors';
import type { Pipeline } from './pipeline.js';

/**
 * Admits a tenant's job under its limit on unfinished jobs, or refuses it
 * with 429. Finished jobs leave the tenant's set when they finish; if a
 * process died before removing one, the set is healed here, from the job
 * records, before anyone is refused.
 */
export async function admitTenantJob(p: Pipeline, tenant: string, jobId: string, limit: number): Promise<void> {
  const key = p.keys.tenantLive(tenant);
  await p.redis.zadd(key, Date.now(), jobId);
  if ((await p.redis.zcard(key)) <= limit) return;
  const members = await p.redis.zrange(key, 0, -1);
  const statuses = await Promise.all(members.map((id) => p.redis.hget(p.keys.jobRecord(id), 'status')));
  const gone = members.filter((id, i) => id !== jobId && (statuses[i] === null || ['succeeded', 'failed', 'cancelled'].includes(statuses[i] as string)));
  if (gone.length > 0) await p.redis.zrem(key, ...gone);
  if ((await p.redis.zcard(key)) <= limit) return;
  await p.redis.zrem(key, jobId);
  throw new ManaError('rate_limited', `tenant ${tenant} has ${limit} jobs unfinished, its limit (MANA_TENANT_MAX_QUEUED); retry when some finish`);
}

/** The job finished: it no longer counts against its tenant. */
export async function releaseTenantJob(p: Pick<Pipeline, 'redis' | 'keys'>, tenant: string, jobId: string): Promise<void> {
  await p.redis.zrem(p.keys.tenantLive(tenant), jobId);
}

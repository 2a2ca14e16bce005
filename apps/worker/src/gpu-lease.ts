import type { RedisClient } from '@mana/jobs';

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The right to run a GPU's Worker, held by one process at a time, so a GPU's
 * concurrency cap holds however many worker replicas are started: the others
 * stand by and take over when the holder dies (its lease expires).
 */
export class GpuLease {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lease if free, or renews it if ours; false when another process holds it. */
  async hold(): Promise<boolean> {
    if ((await this.redis.eval(RENEW, 1, this.key, this.owner, this.ttlMs)) === 1) return true;
    return (await this.redis.set(this.key, this.owner, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.owner);
  }
}

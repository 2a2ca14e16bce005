import type { RedisClient } from './redis.js';
import type { ProviderId } from '@mana/config';
import type { ProviderError } from '@mana/errors';
import { getMany } from './get-many.js';
import type { Keys } from './keys.js';

export interface GpuHealth {
  ok: boolean;
  detail: string;
  at: number;
  loadedModels?: string[] | undefined;
}

export interface BreakerState {
  open: boolean;
  failures: number;
  openUntil?: number;
  reason?: string;
}

export interface HealthOptions {
  /** How long a probe result stays valid. */
  ttlMs: number;
  /** Consecutive failures that open a cloud provider's breaker. @defaultValue 5 */
  breakerThreshold?: number;
  /** How long an open breaker stays open. @defaultValue 30 s (auth: 5 min) */
  breakerCooldownMs?: number;
}

/**
 * Health shared by every process through Redis: GPU probe results (written
 * by whichever process holds the probe lock) and cloud circuit breakers
 * (fed by real traffic; no billed probe calls).
 */
export class HealthCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly options: HealthOptions,
  ) {}

  async setGpu(gpu: string, health: Omit<GpuHealth, 'at'>, now = Date.now()): Promise<void> {
    await this.redis.set(this.keys.gpuHealth(gpu), JSON.stringify({ ...health, at: now }), 'PX', this.options.ttlMs);
  }

  /** Undefined when no probe result is fresh: the GPU is then given the benefit of the doubt. */
  async gpu(gpu: string): Promise<GpuHealth | undefined> {
    const raw = await this.redis.get(this.keys.gpuHealth(gpu));
    return raw ? (JSON.parse(raw) as GpuHealth) : undefined;
  }

  async gpus(names: readonly string[]): Promise<Map<string, GpuHealth | undefined>> {
    if (names.length === 0) return new Map();
    const raws = await getMany(this.redis, names.map((n) => this.keys.gpuHealth(n)));
    return new Map(names.map((n, i) => [n, raws[i] ? (JSON.parse(raws[i] as string) as GpuHealth) : undefined]));
  }

  /** Takes this interval's probe of a GPU; false when another process has it. */
  async claimProbe(gpu: string, intervalMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.gpuProbeLock(gpu), '1', 'PX', Math.max(50, intervalMs - 50), 'NX')) === 'OK';
  }

  async setDrained(gpu: string, drained: boolean): Promise<void> {
    if (drained) await this.redis.set(this.keys.gpuDrain(gpu), '1');
    else await this.redis.del(this.keys.gpuDrain(gpu));
  }

  async drained(names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const raws = await getMany(this.redis, names.map((n) => this.keys.gpuDrain(n)));
    return new Set(names.filter((_, i) => raws[i] !== null));
  }

  async breaker(provider: ProviderId, now = Date.now()): Promise<BreakerState> {
    const raw = await this.redis.hgetall(this.keys.breaker(provider));
    const openUntil = raw.openUntil ? Number(raw.openUntil) : undefined;
    return {
      open: openUntil !== undefined && openUntil > now,
      failures: Number(raw.failures ?? 0),
      ...(openUntil !== undefined ? { openUntil } : {}),
      ...(raw.reason ? { reason: raw.reason } : {}),
    };
  }

  /** A successful call closes the breaker. */
  async recordSuccess(provider: ProviderId): Promise<void> {
    await this.redis.del(this.keys.breaker(provider));
  }

  /**
   * A failed call. A bad key (401/403) opens the breaker at once: it will not
   * fix itself; repeated unavailability opens it after the threshold.
   */
  async recordFailure(provider: ProviderId, error: ProviderError, now = Date.now()): Promise<void> {
    const key = this.keys.breaker(provider);
    const cooldown = this.options.breakerCooldownMs ?? 30_000;
    if (error.code === 'provider_auth') {
      await this.redis.hset(key, 'openUntil', String(now + cooldown * 10), 'reason', error.message);
      return;
    }
    if (error.code !== 'provider_unavailable' && error.code !== 'provider_timeout') return;
    const failures = await this.redis.hincrby(key, 'failures', 1);
    if (failures >= (this.options.breakerThreshold ?? 5)) {
      await this.redis.hset(key, 'openUntil', String(now + cooldown), 'reason', error.message, 'failures', '0');
    }
  }
}

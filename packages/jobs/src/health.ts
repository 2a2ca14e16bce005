import type { RedisClient } from './redis.js';
import type { ProviderId } from '@mana/config';
import type { ProviderError } from '@mana/errors';
import { getMany } from './get-many.js';
import type { Keys } from './keys.js';
import { RATE_LIMIT_BACKOFF_MS } from '@mana/routing';
import { type Inventory, sameModel } from './fleet.js';

/** A server's inventory outlives its health by this much: a model on a GPU that is down still exists. */
const INVENTORY_TTL_MS = 24 * 3_600_000;

export interface GpuHealth {
  ok: boolean;
  detail: string;
  at: number;
  loadedModels?: string[] | undefined;
  /** Every model the server can serve, when it said. */
  models?: string[] | undefined;
}

export interface BreakerState {
  open: boolean;
  failures: number;
  openUntil?: number;
  reason?: string;
  /** The provider answered 429: until then, jobs that can move go elsewhere. */
  throttledUntil?: number;
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

  /** `probedAt`: when the probe that learnt this began (a model switch noted since then wins over its list of loaded models). */
  async setGpu(gpu: string, health: Omit<GpuHealth, 'at'>, probedAt = Date.now()): Promise<void> {
    const { models, ...rest } = health;
    const now = Date.now();
    await this.redis.set(this.keys.gpuHealth(gpu), JSON.stringify({ ...rest, at: now }), 'PX', this.options.ttlMs);
    if (models !== undefined || health.loadedModels !== undefined) {
      const known = await this.inventory(gpu);
      const stale = (known?.switchedAt ?? 0) > probedAt;
      const loaded = stale ? known?.loaded : (health.loadedModels ?? known?.loaded);
      const inventory: Inventory = { models: models ?? known?.models, loaded, at: now, switchedAt: known?.switchedAt };
      await this.redis.set(this.keys.gpuInventory(gpu), JSON.stringify(inventory), 'PX', INVENTORY_TTL_MS);
    }
  }

  async inventory(gpu: string): Promise<Inventory | undefined> {
    const raw = await this.redis.get(this.keys.gpuInventory(gpu));
    return raw ? (JSON.parse(raw) as Inventory) : undefined;
  }

  /**
   * A GPU's scheduler started `model` there: it is loaded now (the next probe
   * that began after this corrects it, and shows what else the server kept).
   * Written only when it is news.
   */
  async noteLoaded(gpu: string, model: string): Promise<void> {
    const known = await this.inventory(gpu);
    if (known?.loaded?.some((m) => sameModel(m, model))) return;
    // Loading may evict what the server held; until a probe says, it holds just this.
    const inventory: Inventory = { ...known, loaded: [model], at: known?.at ?? Date.now(), switchedAt: Date.now() };
    await this.redis.set(this.keys.gpuInventory(gpu), JSON.stringify(inventory), 'PX', INVENTORY_TTL_MS);
  }

  /**
   * Claims the loading of `model` for one server for a while, so that two
   * idle servers deciding at the same moment do not both load it (the second
   * then sees it loaded on the first and chooses again). False when another
   * server holds the claim.
   */
  async claimLoad(gpu: string, model: string, forMs: number): Promise<boolean> {
    const key = this.keys.loadClaim(model);
    if ((await this.redis.set(key, gpu, 'PX', Math.max(100, Math.round(forMs)), 'NX')) === 'OK') return true;
    return (await this.redis.get(key)) === gpu;
  }

  /** Undefined when no probe result is fresh: the GPU is then given the benefit of the doubt. */
  async gpu(gpu: string): Promise<GpuHealth | undefined> {
    return parseHealth(await this.redis.get(this.keys.gpuHealth(gpu)));
  }

  async gpus(names: readonly string[]): Promise<Map<string, GpuHealth | undefined>> {
    if (names.length === 0) return new Map();
    const raws = await getMany(
      this.redis,
      names.map((n) => this.keys.gpuHealth(n)),
    );
    return new Map(names.map((n, i) => [n, parseHealth(raws[i] ?? null)]));
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
    const raws = await getMany(
      this.redis,
      names.map((n) => this.keys.gpuDrain(n)),
    );
    return new Set(names.filter((_, i) => raws[i] !== null));
  }

  async breaker(provider: ProviderId, now = Date.now()): Promise<BreakerState> {
    const raw = await this.redis.hgetall(this.keys.breaker(provider));
    const openUntil = raw.openUntil ? Number(raw.openUntil) : undefined;
    const throttledUntil = raw.throttledUntil ? Number(raw.throttledUntil) : undefined;
    return {
      open: openUntil !== undefined && openUntil > now,
      failures: Number(raw.failures ?? 0),
      ...(openUntil !== undefined ? { openUntil } : {}),
      ...(raw.reason ? { reason: raw.reason } : {}),
      ...(throttledUntil !== undefined && throttledUntil > now ? { throttledUntil } : {}),
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
    if (error.code === 'provider_rate_limited') {
      // For as long as it asked (or a short backoff): a success ends it sooner (recordSuccess).
      await this.redis.hset(key, 'throttledUntil', String(now + (error.retryAfterMs ?? RATE_LIMIT_BACKOFF_MS)));
      return;
    }
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

/** A GPU's health as its probe stored it (undefined when none is stored). */
export function parseHealth(raw: string | null): GpuHealth | undefined {
  return raw ? (JSON.parse(raw) as GpuHealth) : undefined;
}

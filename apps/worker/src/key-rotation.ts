import { ProviderError } from '@mana/errors';
import type { Keys, RedisClient } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { CallOptions, ChatRequest, ChatResult, ChatStreamEvent, EmbedRequest, EmbedResult, HealthReport, ProviderAdapter } from '@mana/providers';

/** One API key of a provider: its adapter, named by a digest of the key. */
export interface ProviderKey {
  keyId: string;
  adapter: ProviderAdapter;
}

export interface KeyRotationOptions {
  provider: string;
  keys: readonly ProviderKey[];
  redis: RedisClient;
  redisKeys: Keys;
  /** Requests and tokens per minute each key may use (MANA_KEY_RPM, MANA_KEY_TPM); undefined: no quota. */
  rpm: number | undefined;
  tpm: number | undefined;
  log: Logger;
}

/** A key the provider refused as ours to fix (401/403, or Gemini's API_KEY_INVALID) rests this long. */
const AUTH_REST_MS = 10 * 60_000;
/** A 429 that says nothing of when to come back rests its key this long. */
const DEFAULT_THROTTLE_REST_MS = 60_000;

/**
 * KEYS[1] = this minute's use by key, KEYS[2] = rested keys (key → until).
 * ARGV: rpm (0: none), tpm (0: none), now, next minute, then the key ids to
 * choose from. Takes the least used key this minute that is not resting
 * and under its quotas, counting the request; else answers when the
 * soonest one is free again. Shared by every worker process.
 */
const PICK = `
local rpm, tpm, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local best, bestUsed, soonest = nil, nil, nil
for i = 5, #ARGV do
  local k = ARGV[i]
  local rest = tonumber(redis.call('HGET', KEYS[2], k) or '0')
  local free = nil
  if rest > now then free = rest
  else
    local req = tonumber(redis.call('HGET', KEYS[1], k .. ':req') or '0')
    local tok = tonumber(redis.call('HGET', KEYS[1], k .. ':tok') or '0')
    if (rpm > 0 and req >= rpm) or (tpm > 0 and tok >= tpm) then free = tonumber(ARGV[4])
    elseif not best or req < bestUsed then best, bestUsed = k, req end
  end
  if free and (not soonest or free < soonest) then soonest = free end
end
if best then
  redis.call('HINCRBY', KEYS[1], best .. ':req', 1)
  redis.call('EXPIRE', KEYS[1], 120)
  return { best, '0' }
end
return { '', tostring(soonest or tonumber(ARGV[4])) }
`;

/**
 * A cloud provider with several API keys used in rotation, each with its own
 * quotas. A key that answers 429 rests for the wait it asks; one refused as
 * invalid (401/403) rests for 10 minutes; either way the call goes on with
 * the next key, and the provider as a whole is throttled or failed (as with
 * one key) only when no key is left. Streams move to another key only
 * before their first event, which is when quota and key errors come.
 */
export class KeyRotation implements ProviderAdapter {
  readonly id;
  readonly endpoint;
  private readonly pick: (...args: Array<string | number>) => Promise<[string, string]>;

  constructor(private readonly options: KeyRotationOptions) {
    const first = options.keys[0]!.adapter;
    this.id = first.id;
    this.endpoint = first.endpoint;
    options.redis.defineCommand('manaPickKey', { numberOfKeys: 2, lua: PICK });
    const fn = (options.redis as unknown as Record<string, ((...a: Array<string | number>) => Promise<[string, string]>) | undefined>).manaPickKey;
    if (!fn) throw new Error('could not define the key rotation script');
    this.pick = fn.bind(options.redis);
  }

  chat(request: ChatRequest, options?: CallOptions): Promise<ChatResult> {
    return this.withKey(
      request.model,
      (a) => a.chat(request, options),
      (r) => r.usage.promptTokens + r.usage.completionTokens,
    );
  }

  embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResult> {
    return this.withKey(
      request.model,
      (a) => a.embed(request, options),
      (r) => r.usage.promptTokens,
    );
  }

  health(options?: CallOptions): Promise<HealthReport> {
    return this.options.keys[0]!.adapter.health(options);
  }

  async *chatStream(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent> {
    const tried = new Set<string>();
    let last: ProviderError | undefined;
    for (;;) {
      const key = await this.choose(request.model, tried, last);
      let started = false;
      try {
        for await (const event of key.adapter.chatStream(request, options)) {
          started = true;
          if (event.type === 'done') this.spend(key.keyId, event.result.usage.promptTokens + event.result.usage.completionTokens);
          yield event;
        }
        return;
      } catch (err) {
        if (started || !(await this.rest(key, err))) throw err;
        tried.add(key.keyId);
        last = err as ProviderError;
      }
    }
  }

  private async withKey<T>(model: string, call: (adapter: ProviderAdapter) => Promise<T>, tokens: (result: T) => number): Promise<T> {
    const tried = new Set<string>();
    let last: ProviderError | undefined;
    for (;;) {
      const key = await this.choose(model, tried, last);
      try {
        const result = await call(key.adapter);
        this.spend(key.keyId, tokens(result));
        return result;
      } catch (err) {
        if (!(await this.rest(key, err))) throw err;
        tried.add(key.keyId);
        last = err as ProviderError;
      }
    }
  }

  /** The key to call with; when none is free, the last key's own error, or a 429 saying when one will be. */
  private async choose(model: string, tried: ReadonlySet<string>, last: ProviderError | undefined): Promise<ProviderKey> {
    const { provider, keys, redisKeys } = this.options;
    const untried = keys.filter((k) => !tried.has(k.keyId));
    const now = Date.now();
    const minute = Math.floor(now / 60_000);
    const [chosen, freeAt] =
      untried.length === 0
        ? ['', '0']
        : await this.pick(
            redisKeys.providerKeyUse(provider, minute),
            redisKeys.providerKeyRests(provider),
            this.options.rpm ?? 0,
            this.options.tpm ?? 0,
            now,
            (minute + 1) * 60_000,
            ...untried.map((k) => k.keyId),
          );
    const key = keys.find((k) => k.keyId === chosen);
    if (key) return key;
    if (last) throw last;
    const waitMs = Math.max(1_000, Number(freeAt) - now);
    throw new ProviderError(
      'provider_rate_limited',
      `${provider}: all ${keys.length} API keys are resting or at their quota (MANA_KEY_RPM / MANA_KEY_TPM); the next is free in ${Math.ceil(waitMs / 1000)} s`,
      {
        provider,
        target: `${provider}/${model}`,
        retryAfterMs: waitMs,
      },
    );
  }

  /** Rests a key that failed for reasons of its own (quota, refused key); false for any other failure, which is the call's. */
  private async rest(key: ProviderKey, err: unknown): Promise<boolean> {
    if (!(err instanceof ProviderError) || (err.code !== 'provider_rate_limited' && err.code !== 'provider_auth') || this.options.keys.length < 2) return false;
    const ms = err.code === 'provider_auth' ? AUTH_REST_MS : (err.retryAfterMs ?? DEFAULT_THROTTLE_REST_MS);
    await this.options.redis.hset(this.options.redisKeys.providerKeyRests(this.options.provider), key.keyId, String(Date.now() + ms));
    const log = err.code === 'provider_auth' ? this.options.log.error.bind(this.options.log) : this.options.log.warn.bind(this.options.log);
    log(
      { provider: this.options.provider, key: key.keyId, code: err.code, restMs: ms },
      err.code === 'provider_auth' ? 'API key refused; resting it and using the others' : 'API key throttled; resting it and using the others',
    );
    return true;
  }

  private spend(keyId: string, tokens: number): void {
    if (tokens <= 0 || this.options.tpm === undefined) return;
    const use = this.options.redisKeys.providerKeyUse(this.options.provider, Math.floor(Date.now() / 60_000));
    void this.options.redis.hincrby(use, `${keyId}:tok`, tokens).catch(() => {});
  }
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ParseResult } from './ollama-hosts.js';

/** One client key: which tenant it belongs to and its SHA-256 (the key itself is not kept). */
export interface ApiKey {
  tenant: string;
  hash: Buffer;
  /** The tenant's fair-share weight, when its line gives one (`weight=3`); see FairShare. */
  weight?: number;
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const MIN_KEY_LENGTH = 16;

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * `tenant:key,tenant:key` (MANA_API_KEYS) or one `tenant:key` per line
 * (MANA_API_KEYS_FILE, # comments). A key may be followed by `weight=N`,
 * the tenant's fair share of the GPU slots; the tenant's lines must then
 * agree on it.
 */
export function parseApiKeys(raw: string, separator: RegExp = /,/): ParseResult<ApiKey[]> {
  const entries = raw
    .split(separator)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  const keys: ApiKey[] = [];
  const weights = new Map<string, number>();
  for (const [index, entry] of entries.entries()) {
    const [pair = '', ...options] = entry.split(/\s+/);
    const colon = pair.indexOf(':');
    const tenant = pair.slice(0, colon);
    const key = pair.slice(colon + 1);
    if (colon <= 0 || !TENANT.test(tenant)) return { ok: false, error: `entry ${index + 1}: expected tenant:key with a tenant of letters, digits, "-" or "_"` };
    if (key.length < MIN_KEY_LENGTH) return { ok: false, error: `entry ${index + 1} (tenant ${tenant}): keys must be at least ${MIN_KEY_LENGTH} characters` };
    const weight = parseWeight(options);
    if (typeof weight === 'string') return { ok: false, error: `entry ${index + 1} (tenant ${tenant}): ${weight}` };
    if (weight !== undefined) {
      const earlier = weights.get(tenant);
      if (earlier !== undefined && earlier !== weight)
        return { ok: false, error: `entry ${index + 1} (tenant ${tenant}): weight=${weight}, but an earlier line gave weight=${earlier}` };
      weights.set(tenant, weight);
    }
    keys.push({ tenant, hash: hashKey(key) });
  }
  // Every key of a weighted tenant carries the weight, whichever line gave it.
  return { ok: true, value: keys.map((k) => (weights.has(k.tenant) ? { ...k, weight: weights.get(k.tenant)! } : k)) };
}

/** The options after a key: only `weight=N` (N > 0) is known. An error is returned as its message. */
function parseWeight(options: readonly string[]): number | undefined | string {
  let weight: number | undefined;
  for (const option of options) {
    const match = /^weight=(.*)$/.exec(option);
    if (!match) return `unknown option "${option}" after the key (expected weight=N)`;
    weight = Number(match[1]);
    if (!Number.isFinite(weight) || weight <= 0) return `expected weight=N with N greater than 0, got "${option}"`;
  }
  return weight;
}

export function readApiKeysFile(path: string): ParseResult<ApiKey[]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return parseApiKeys(text, /\r?\n/);
}

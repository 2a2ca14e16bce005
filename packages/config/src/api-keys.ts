import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ParseResult } from './ollama-hosts.js';

/** One client key: which tenant it belongs to and its SHA-256 (the key itself is not kept). */
export interface ApiKey {
  tenant: string;
  hash: Buffer;
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const MIN_KEY_LENGTH = 16;

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** `tenant:key,tenant:key` (MANA_API_KEYS) or one `tenant:key` per line (MANA_API_KEYS_FILE, # comments). */
export function parseApiKeys(raw: string, separator: RegExp = /,/): ParseResult<ApiKey[]> {
  const entries = raw
    .split(separator)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  const keys: ApiKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const tenant = entry.slice(0, colon);
    const key = entry.slice(colon + 1);
    if (colon <= 0 || !TENANT.test(tenant)) return { ok: false, error: `entry ${index + 1}: expected tenant:key with a tenant of letters, digits, "-" or "_"` };
    if (key.length < MIN_KEY_LENGTH) return { ok: false, error: `entry ${index + 1} (tenant ${tenant}): keys must be at least ${MIN_KEY_LENGTH} characters` };
    keys.push({ tenant, hash: hashKey(key) });
  }
  return { ok: true, value: keys };
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

import type { ParseResult } from './ollama-hosts.js';

/**
 * A number per tenant, with `*` for every tenant not named:
 * `team-a:3,team-b:1` or `team-a:100000,*:20000`. A bare number is `*`'s.
 */
export interface PerTenant {
  byTenant: Readonly<Record<string, number>>;
  /** The value for a tenant not named; undefined: none (no limit, or the built-in default). */
  others: number | undefined;
}

const NAME = /^(\*|[a-z0-9][a-z0-9_-]{0,63})$/i;

/** Parses a per-tenant list; `positive` refuses 0 (a weight), else 0 is allowed (a limit of 0 is "off"). */
export function parsePerTenant(raw: string, what: string): ParseResult<PerTenant> {
  const byTenant: Record<string, number> = {};
  let others: number | undefined;
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const colon = entry.lastIndexOf(':');
    const name = colon < 0 ? '*' : entry.slice(0, colon).trim();
    const value = Number(colon < 0 ? entry : entry.slice(colon + 1).trim());
    if (!NAME.test(name))
      return { ok: false, error: `entry ${index + 1} ("${entry}"): expected tenant:${what} with a tenant of letters, digits, "-" or "_" (or * for every other tenant)` };
    if (!Number.isFinite(value) || value <= 0) return { ok: false, error: `entry ${index + 1} ("${entry}"): expected a ${what} greater than 0` };
    if (name === '*') others = value;
    else byTenant[name] = value;
  }
  return { ok: true, value: { byTenant, others } };
}

/** The value for one tenant: its own, else `*`'s, else the fallback. */
export function forTenant(settings: PerTenant | undefined, tenant: string, fallback: number): number;
export function forTenant(settings: PerTenant | undefined, tenant: string, fallback?: number): number | undefined;
export function forTenant(settings: PerTenant | undefined, tenant: string, fallback?: number): number | undefined {
  return settings?.byTenant[tenant] ?? settings?.others ?? fallback;
}

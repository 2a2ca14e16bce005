import { NO_TENANT, hourOf, monthOf } from './job-stats.js';
import type { Pipeline } from './pipeline.js';

/** One line of the usage ledger: a tenant's use of one target through one alias, in one hour (or in all). */
export interface UsageRow {
  /** Start of the hour (ms since the epoch); null for all-time totals. */
  hour: number | null;
  tenant: string;
  alias: string;
  target: string;
  requests: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  gpuSeconds: number;
  /** Paid to the cloud provider. */
  costUsd: number;
  /** What the GPU-served part would have cost on the alias's cloud target. */
  avoidedUsd: number;
}

type Ledger = Pick<Pipeline, 'redis' | 'keys'>;

const HOUR_MS = 3_600_000;
/** The most hours one read may span (the ledger keeps about a month). */
export const MAX_USAGE_HOURS = 24 * 40;

/** The ledger's rows for the hours from `fromMs` to `toMs`, oldest first; one tenant's only when `tenant` is given. */
export async function readUsage(p: Ledger, fromMs: number, toMs: number, tenant?: string): Promise<UsageRow[]> {
  const hours: number[] = [];
  for (let h = hourOf(fromMs); h <= toMs && hours.length < MAX_USAGE_HOURS; h += HOUR_MS) hours.push(h);
  const hashes = await Promise.all(hours.map((h) => p.redis.hgetall(p.keys.usageHour(h))));
  return hashes.flatMap((hash, i) => rowsOf(hash, hours[i]!).filter((r) => tenant === undefined || r.tenant === tenant));
}

/** All-time totals by tenant, alias and target (the Prometheus counters). */
export async function readUsageTotals(p: Ledger): Promise<UsageRow[]> {
  return rowsOf(await p.redis.hgetall(p.keys.usageTotals()), null);
}

/** Cloud dollars a tenant has spent this calendar month (UTC). */
export async function cloudSpentThisMonth(p: Ledger, tenant: string, now = Date.now()): Promise<number> {
  return Number((await p.redis.hget(p.keys.cloudSpend(monthOf(new Date(now))), tenant || NO_TENANT)) ?? 0);
}

/** Every tenant's cloud dollars this month. */
export async function cloudSpendByTenant(p: Ledger, now = Date.now()): Promise<Record<string, number>> {
  const raw = await p.redis.hgetall(p.keys.cloudSpend(monthOf(new Date(now))));
  return Object.fromEntries(Object.entries(raw).map(([t, v]) => [t, Number(v)]));
}

const METRICS: Record<string, keyof UsageRow> = {
  requests: 'requests',
  failed: 'failed',
  in: 'promptTokens',
  out: 'completionTokens',
  gpu_ms: 'gpuSeconds',
  usd: 'costUsd',
  avoided_usd: 'avoidedUsd',
};

function rowsOf(hash: Record<string, string>, hour: number | null): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const [field, value] of Object.entries(hash)) {
    const [tenant = '', alias = '', target = '', metric = ''] = field.split('\t');
    const name = METRICS[metric];
    if (!name) continue;
    const id = `${tenant}\t${alias}\t${target}`;
    let row = rows.get(id);
    if (!row) {
      row = { hour, tenant, alias, target, requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, gpuSeconds: 0, costUsd: 0, avoidedUsd: 0 };
      rows.set(id, row);
    }
    (row[name] as number) = metric === 'gpu_ms' ? Number(value) / 1000 : Number(value);
  }
  return [...rows.values()];
}

import { type Request, Router } from 'express';
import { forTenant } from '@mana/config';
import { ValidationError } from '@mana/errors';
import { MAX_USAGE_HOURS, type UsageRow, cloudSpendByTenant, cloudSpentThisMonth, monthOf, readUsage } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';
import { tenantOf } from '../middleware/auth.js';

const DAY_MS = 86_400_000;

/**
 * The usage ledger: per tenant, alias, target and hour, what was asked,
 * the tokens, GPU time, cloud cost and the cost the GPUs avoided.
 * `GET /v1/usage` is the caller's own tenant; `GET /admin/usage` is every
 * tenant's, with their budgets. `from`/`to`: ISO 8601 or ms since the epoch
 * (default: the last 24 hours); `group_by=hour` keeps one row per hour.
 */
export function usageRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/v1/usage', async (req, res) => {
    const tenant = tenantOf(res);
    const query = usageQuery(req);
    const [rows, spent] = await Promise.all([readUsage(deps.pipeline, query.from, query.to, tenant), cloudSpentThisMonth(deps.pipeline, tenant)]);
    res.json({ ...usageBody(deps, query, rows), tenant, budget: budgetBody(deps, tenant, spent) });
  });
  router.get('/admin/usage', async (req, res) => {
    const query = usageQuery(req);
    const [rows, spend] = await Promise.all([readUsage(deps.pipeline, query.from, query.to), cloudSpendByTenant(deps.pipeline)]);
    const tenants = [...new Set([...rows.map((r) => r.tenant), ...Object.keys(spend), ...Object.keys(deps.config.tenants.budgetUsd?.byTenant ?? {})])].sort();
    res.json({ ...usageBody(deps, query, rows), budgets: Object.fromEntries(tenants.map((t) => [t, budgetBody(deps, t, spend[t] ?? 0)])) });
  });
  return router;
}

interface UsageQuery {
  from: number;
  to: number;
  byHour: boolean;
}

function usageQuery(req: Request): UsageQuery {
  const now = Date.now();
  const to = timeParam(req.query.to, 'to') ?? now;
  const from = timeParam(req.query.from, 'from') ?? to - DAY_MS;
  if (from > to) throw new ValidationError('from must not be after to', 'from');
  if (to - from > MAX_USAGE_HOURS * 3_600_000) throw new ValidationError(`from..to spans more than ${MAX_USAGE_HOURS / 24} days (the ledger keeps about a month)`, 'from');
  const groupBy = req.query.group_by;
  if (groupBy !== undefined && groupBy !== 'hour') throw new ValidationError('group_by must be "hour" (or left out for totals over the range)', 'group_by');
  return { from, to, byHour: groupBy === 'hour' };
}

function timeParam(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ValidationError(`${name} must be an ISO 8601 time or milliseconds since the epoch`, name);
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(`${name} must be an ISO 8601 time or milliseconds since the epoch; got ${JSON.stringify(value)}`, name);
  return ms;
}

function usageBody(deps: ApiDeps, query: UsageQuery, rows: UsageRow[]) {
  const merged = query.byHour ? rows : mergeHours(rows);
  return {
    object: 'usage',
    from: new Date(query.from).toISOString(),
    to: new Date(query.to).toISOString(),
    prices_as_of: deps.pipeline.prices.current().asOf,
    totals: rowBody(sum(rows)),
    data: merged.map(rowBody),
  };
}

function mergeHours(rows: UsageRow[]): UsageRow[] {
  const byKey = new Map<string, UsageRow[]>();
  for (const r of rows) {
    const key = `${r.tenant}\t${r.alias}\t${r.target}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return [...byKey.values()].map((group) => ({ ...sum(group), hour: null, tenant: group[0]!.tenant, alias: group[0]!.alias, target: group[0]!.target }));
}

function sum(rows: UsageRow[]): UsageRow {
  const total: UsageRow = { hour: null, tenant: '', alias: '', target: '', requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, gpuSeconds: 0, costUsd: 0, avoidedUsd: 0 };
  for (const r of rows) {
    total.requests += r.requests;
    total.failed += r.failed;
    total.promptTokens += r.promptTokens;
    total.completionTokens += r.completionTokens;
    total.gpuSeconds += r.gpuSeconds;
    total.costUsd += r.costUsd;
    total.avoidedUsd += r.avoidedUsd;
  }
  return total;
}

// Nano-dollar precision: a short request costs millionths of a dollar.
const dollars = (n: number) => Math.round(n * 1e10) / 1e10;

function rowBody(r: UsageRow) {
  return {
    ...(r.hour !== null ? { hour: new Date(r.hour).toISOString() } : {}),
    ...(r.tenant ? { tenant: r.tenant, alias: r.alias, target: r.target } : {}),
    requests: r.requests,
    failed: r.failed,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    gpu_seconds: Math.round(r.gpuSeconds * 1000) / 1000,
    cost_usd: dollars(r.costUsd),
    cost_avoided_usd: dollars(r.avoidedUsd),
  };
}

/** A tenant's monthly cloud budget as it stands (null limit: none set). */
function budgetBody(deps: ApiDeps, tenant: string, spentUsd: number) {
  const limit = forTenant(deps.config.tenants.budgetUsd, tenant);
  return {
    month: monthOf(new Date()),
    limit_usd: limit ?? null,
    spent_usd: dollars(spentUsd),
    remaining_usd: limit === undefined ? null : dollars(Math.max(0, limit - spentUsd)),
    exhausted: limit !== undefined && spentUsd >= limit,
    when_exhausted: deps.config.tenants.budgetExhausted,
  };
}

import { type GatewayTarget, call } from '../gateway-client.js';

interface UsageRow {
  tenant: string;
  alias: string;
  target: string;
  requests: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  gpu_seconds: number;
  cost_usd: number;
  cost_avoided_usd: number;
}

interface Budget {
  month: string;
  limit_usd: number | null;
  spent_usd: number;
  exhausted: boolean;
}

interface Usage {
  tenant?: string;
  from: string;
  to: string;
  prices_as_of: string | null;
  totals: Omit<UsageRow, 'tenant' | 'alias' | 'target'>;
  data: UsageRow[];
  budget?: Budget;
  budgets?: Record<string, Budget>;
}

/**
 * `mana usage [--all] [--from T] [--to T]`: the usage ledger as a table,
 * the client key's tenant (or, with --all and the admin key, every tenant),
 * with the cloud budget as it stands.
 */
export async function usageCommand(
  target: GatewayTarget,
  options: { all: boolean; from?: string | undefined; to?: string | undefined },
  out: (line: string) => void,
): Promise<number> {
  const query = new URLSearchParams();
  if (options.from) query.set('from', options.from);
  if (options.to) query.set('to', options.to);
  const path = `${options.all ? '/admin/usage' : '/v1/usage'}${query.size > 0 ? `?${query}` : ''}`;
  const usage = (await call(target, 'GET', path, { admin: options.all })) as Usage;
  out(`usage ${usage.from} → ${usage.to}  (prices as of ${usage.prices_as_of ?? 'none: no prices.yaml read'})`);
  const header = ['tenant', 'alias', 'target', 'requests', 'failed', 'tokens in', 'tokens out', 'GPU s', 'cloud $', 'avoided $'];
  const rows = usage.data.map((r) => [
    r.tenant,
    r.alias,
    r.target,
    r.requests,
    r.failed,
    r.prompt_tokens,
    r.completion_tokens,
    r.gpu_seconds.toFixed(1),
    money(r.cost_usd),
    money(r.cost_avoided_usd),
  ]);
  const t = usage.totals;
  rows.push(['total', '', '', t.requests, t.failed, t.prompt_tokens, t.completion_tokens, t.gpu_seconds.toFixed(1), money(t.cost_usd), money(t.cost_avoided_usd)]);
  for (const line of table(header, rows)) out(line);
  const budgets = usage.budgets ?? (usage.budget ? { [usage.tenant ?? 'you']: usage.budget } : {});
  const set = Object.entries(budgets).filter(([, b]) => b.limit_usd !== null);
  if (set.length > 0) {
    out('cloud budgets');
    for (const [tenant, b] of set) out(`  ${tenant.padEnd(16)} ${b.month}  $${b.spent_usd.toFixed(2)} of $${b.limit_usd}${b.exhausted ? '  SPENT' : ''}`);
  }
  return 0;
}

function money(usd: number): string {
  return usd === 0 ? '0' : usd < 0.01 ? usd.toExponential(2) : usd.toFixed(2);
}

function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string[] {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  // Text columns left, numbers right.
  return cells.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

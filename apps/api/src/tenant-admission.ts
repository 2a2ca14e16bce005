import { forTenant, isLocalProvider } from '@mana/config';
import { ManaError, ValidationError } from '@mana/errors';
import { type HopTarget, type Work, cloudSpentThisMonth, estimatePromptTokens, monthOf, secondsUntilRoom, tokenWindow, windowTokens } from '@mana/jobs';
import type { ApiDeps } from './deps.js';

/**
 * A tenant's monthly cloud budget (MANA_TENANT_BUDGET_USD), applied to a
 * job's chain when it is accepted. Within budget the chain is untouched.
 * Once spent, per MANA_BUDGET_EXHAUSTED: `local` keeps only the chain's GPU
 * targets (the job waits for a GPU, never spills) and refuses a job with
 * none; `refuse` refuses every job. Refusals are 402 naming the budget.
 */
export async function applyBudget(deps: ApiDeps, tenant: string | undefined, chain: HopTarget[]): Promise<{ chain: HopTarget[]; localOnly: boolean }> {
  const { tenants } = deps.config;
  const limit = tenant === undefined ? undefined : forTenant(tenants.budgetUsd, tenant);
  if (tenant === undefined || limit === undefined) return { chain, localOnly: false };
  // A chain that never reaches the cloud costs nothing: no read needed.
  if (chain.every((t) => isLocalProvider(t.provider))) return { chain, localOnly: false };
  const spent = await cloudSpentThisMonth(deps.pipeline, tenant);
  if (spent < limit) return { chain, localOnly: false };
  warnOnce(deps, tenant, spent, limit);
  const what = `tenant ${tenant} has spent $${spent.toFixed(2)} of its $${limit} cloud budget this month (MANA_TENANT_BUDGET_USD)`;
  if (tenants.budgetExhausted === 'refuse') throw new ManaError('budget_exhausted', `${what}; jobs are refused until the month ends (MANA_BUDGET_EXHAUSTED=refuse)`);
  const local = chain.filter((t) => isLocalProvider(t.provider));
  if (local.length === 0) throw new ManaError('budget_exhausted', `${what}, and this model has no GPU target to stay on (${chain.map((t) => t.id).join(', ')})`);
  return { chain: local, localOnly: true };
}

/**
 * Tokens per minute per tenant (MANA_TENANT_TPM), beside the request limit:
 * the tokens of the tenant's jobs finished in the last 60 s (a sliding
 * window, see TokenWindow), plus this job's prompt as estimated, may not
 * pass the limit. Over it: 429 with Retry-After when it would fit. Batch
 * items are not counted here (a batch is paced by its share of the GPUs and
 * its completion window).
 */
export async function admitTokens(deps: ApiDeps, tenant: string | undefined, work: Work): Promise<void> {
  const limit = tenant === undefined ? undefined : forTenant(deps.config.tenants.tpm, tenant);
  if (tenant === undefined || limit === undefined) return;
  const asked = work.kind === 'chat' ? estimatePromptTokens(work) : Math.ceil(work.input.reduce((n, s) => n + s.length, 0) / 4);
  // Never admitted however long the client waits: told so, not to retry.
  if (asked > limit) {
    const field = work.kind === 'chat' ? 'messages' : 'input';
    throw new ValidationError(`${field} is about ${asked} tokens, more than tenant ${tenant}'s limit of ${limit} tokens per minute (MANA_TENANT_TPM)`, field);
  }
  const window = await tokenWindow(deps.pipeline, tenant);
  const used = windowTokens(window);
  if (used + asked <= limit) return;
  const retryAfterS = secondsUntilRoom(window, asked, limit);
  throw new ManaError(
    'rate_limited',
    `tenant ${tenant} used ${used} tokens in the last minute and this request asks about ${asked} more, over its limit of ${limit} tokens per minute (MANA_TENANT_TPM); retry in ${retryAfterS} s`,
    { retryAfterS },
  );
}

/** Tenants whose exhausted budget this process has logged, with the month. */
const warned = new Map<string, string>();

/** Operators hear of a spent budget once per tenant and month in each API process (and see it in GET /admin/usage). */
function warnOnce(deps: ApiDeps, tenant: string, spent: number, limit: number): void {
  const month = monthOf(new Date());
  if (warned.get(tenant) === month) return;
  warned.set(tenant, month);
  deps.log.warn({ tenant, spentUsd: spent, budgetUsd: limit, whenExhausted: deps.config.tenants.budgetExhausted }, 'tenant cloud budget spent');
}

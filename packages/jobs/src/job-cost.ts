import { type PriceTable, costUsd } from '@mana/aliases';
import { isLocalProvider } from '@mana/config';
import type { HopTarget } from './payloads.js';
import type { Usage } from './record-types.js';

/** What one job cost, as its record, its batch line and the usage ledger carry it. */
export interface JobCost {
  /** US dollars paid to a cloud provider (0 for work a GPU served). */
  usd: number;
  /** For GPU-served work: what the same tokens would have cost on the job's cloud target. */
  avoidedUsd: number;
  /** How long the job held a GPU slot, in ms (0 for cloud work). */
  gpuMs: number;
  /** The target whose price these figures use ('' when no cloud target applies). */
  pricedAs: string;
  /** False when the price table has no price for that target: the dollar figures are then 0, not known. */
  priced: boolean;
}

/**
 * The cost of a hop that succeeded on `target`: on a cloud target its price;
 * on a GPU, the time it held a slot and what the first cloud target of its
 * chain would have charged for the same tokens (cost avoided).
 */
export function jobCost(prices: PriceTable, target: HopTarget, chain: readonly HopTarget[], usage: Usage, heldMs: number): JobCost {
  if (!isLocalProvider(target.provider)) {
    const usd = costUsd(prices, target.id, usage.promptTokens, usage.completionTokens);
    return { usd: usd ?? 0, avoidedUsd: 0, gpuMs: 0, pricedAs: target.id, priced: usd !== undefined };
  }
  const cloud = chain.find((t) => !isLocalProvider(t.provider));
  const avoided = cloud ? costUsd(prices, cloud.id, usage.promptTokens, usage.completionTokens) : 0;
  return { usd: 0, avoidedUsd: avoided ?? 0, gpuMs: Math.round(heldMs), pricedAs: cloud?.id ?? '', priced: avoided !== undefined };
}

/** The cost as the API shows it (job view, batch output lines). */
export function costBody(cost: JobCost | undefined) {
  if (!cost) return null;
  return { usd: cost.usd, avoided_usd: cost.avoidedUsd, gpu_seconds: cost.gpuMs / 1000, priced_as: cost.pricedAs || null, priced: cost.priced };
}

import type { Target } from '@mana/aliases';
import type { Pipeline } from './pipeline.js';

export type Availability = { ok: true } | { ok: false; reason: string };

/**
 * Whether dispatch should send work to a target now, from shared health
 * state only: no provider is called to find out.
 */
export async function availability(p: Pipeline, target: Target): Promise<Availability> {
  if (target.provider === 'ollama') {
    const usable = await usableGpus(p);
    return usable.length > 0 ? { ok: true } : { ok: false, reason: 'every GPU server is down or drained' };
  }
  if (!p.options.isConfigured(target.provider)) return { ok: false, reason: `${target.provider} has no API key configured` };
  const breaker = await p.health.breaker(target.provider);
  if (breaker.open) return { ok: false, reason: `${target.provider} circuit breaker is open: ${breaker.reason ?? 'repeated failures'}` };
  return { ok: true };
}

/** GPUs neither known to be down nor drained (an unprobed GPU counts as usable); cached briefly. */
export function usableGpus(p: Pipeline): Promise<string[]> {
  return p.cache.usableGpus.get();
}

export async function loadUsableGpus(p: Pick<Pipeline, 'health' | 'options'>): Promise<string[]> {
  const [health, drained] = await Promise.all([p.health.gpus(p.options.gpus), p.health.drained(p.options.gpus)]);
  return p.options.gpus.filter((g) => health.get(g)?.ok !== false && !drained.has(g));
}

import type { OllamaHost } from '@mana/config';
import type { Pipeline } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { HealthReport, ProviderAdapter } from '@mana/providers';

export interface ProbedHost {
  host: OllamaHost;
  adapter: ProviderAdapter;
  /** When this server last answered a hop run by this process (epoch ms), if it has. */
  lastAnswerAt?: () => number | undefined;
}

/**
 * Probes each GPU server every interval and shares the result through Redis.
 * Every worker process runs this loop, but a per-host lock lets only one
 * probe per host per interval through, however many processes there are.
 */
export function startHealthProbes(pipeline: Pipeline, hosts: readonly ProbedHost[], intervalMs: number, log: Logger): () => void {
  const last = new Map<string, boolean>();
  const probe = async (entry: ProbedHost) => {
    const { host, adapter } = entry;
    if (!(await pipeline.health.claimProbe(host.name, intervalMs))) return;
    const probedAt = Date.now();
    const report = busyNotDown(await adapter.health({ timeoutMs: Math.min(2_000, intervalMs) }), entry.lastAnswerAt?.(), probedAt - intervalMs);
    await pipeline.health.setGpu(host.name, report, probedAt);
    if (last.get(host.name) !== report.ok) log.info({ gpu: host.name, ok: report.ok, detail: report.detail }, 'GPU health');
    last.set(host.name, report.ok);
  };
  const tick = () => {
    for (const entry of hosts) void probe(entry).catch((err: unknown) => log.error({ gpu: entry.host.name, err }, 'probe failed'));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return () => clearInterval(timer);
}

/**
 * A probe that timed out on a server which answered real work since about
 * the last probe says the server is busy, not down: marking it down would
 * turn away the work it is serving (seen under load in the embeddings
 * bench, where the probe's answer queued behind 50 requests in flight). It
 * stays up. A server that refuses the probe or answers it with an error, or
 * times it out with no work answered meanwhile, is still marked down, as is
 * one whose hops fail (its scheduler marks it at once).
 */
export function busyNotDown(report: HealthReport, lastAnswerAt: number | undefined, since: number): HealthReport {
  if (report.ok || !report.timedOut || lastAnswerAt === undefined || lastAnswerAt < since) return report;
  return { ok: true, detail: `busy: ${report.detail}, but it answered a request since the last probe` };
}

import type { OllamaHost } from '@mana/config';
import type { Pipeline } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ProviderAdapter } from '@mana/providers';

/**
 * Probes each GPU server every interval and shares the result through Redis.
 * Every worker process runs this loop, but a per-host lock lets only one
 * probe per host per interval through, however many processes there are.
 */
export function startHealthProbes(pipeline: Pipeline, hosts: ReadonlyArray<{ host: OllamaHost; adapter: ProviderAdapter }>, intervalMs: number, log: Logger): () => void {
  const last = new Map<string, boolean>();
  const probe = async ({ host, adapter }: { host: OllamaHost; adapter: ProviderAdapter }) => {
    if (!(await pipeline.health.claimProbe(host.name, intervalMs))) return;
    const probedAt = Date.now();
    const report = await adapter.health({ timeoutMs: Math.min(2_000, intervalMs) });
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

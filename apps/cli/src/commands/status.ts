import { type GatewayTarget, call } from '../gateway-client.js';

interface Status {
  gpus: Record<string, { ok: boolean | null; detail: string; drained: boolean }>;
  providers: Record<string, { configured: boolean; breakerOpen: boolean; reason?: string }>;
  queues: Record<string, Record<string, number>>;
  fallbacks: Record<string, number>;
}

/** `mana status`: GPUs, providers and queues at a glance (admin key). */
export async function statusCommand(target: GatewayTarget, out: (line: string) => void): Promise<number> {
  const status = (await call(target, 'GET', '/status', { admin: true })) as Status;
  out('GPUs');
  for (const [name, gpu] of Object.entries(status.gpus)) {
    const state = gpu.drained ? 'drained' : gpu.ok === null ? 'not probed' : gpu.ok ? 'up' : 'DOWN';
    out(`  ${name.padEnd(10)} ${state.padEnd(10)} ${gpu.detail}`);
  }
  out('providers');
  for (const [name, p] of Object.entries(status.providers)) {
    out(`  ${name.padEnd(10)} ${!p.configured ? 'no key' : p.breakerOpen ? `BREAKER OPEN (${p.reason ?? ''})` : 'ok'}`);
  }
  out('queues       waiting  active  failed  completed');
  for (const [name, c] of Object.entries(status.queues)) {
    const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0);
    out(`  ${name.padEnd(10)} ${String(waiting).padStart(7)} ${String(c.active ?? 0).padStart(7)} ${String(c.failed ?? 0).padStart(7)} ${String(c.completed ?? 0).padStart(10)}`);
  }
  const fallbacks = Object.entries(status.fallbacks);
  if (fallbacks.length > 0) {
    out('fallbacks');
    for (const [edge, n] of fallbacks) out(`  ${edge.replaceAll('>', ' → ')}: ${n}`);
  }
  return 0;
}

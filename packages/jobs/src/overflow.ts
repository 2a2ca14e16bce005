import { BULLMQ_PRIORITY, type Priority } from './payloads.js';
import type { OllamaBacklog, Pipeline } from './pipeline.js';
import { readServiceTimeMs } from './service-time.js';
import { usableGpus } from './availability.js';

/** Until a worker has measured real service times, assume a short generation. */
const ASSUMED_SERVICE_MS = 1_000;

/**
 * How long a new Ollama job of this priority would wait for a slot: the jobs
 * ahead of it (same or higher priority) beyond the free slots, in rounds of
 * all usable slots, each round one average service time.
 */
export async function estimateOllamaWaitMs(p: Pipeline, priority: Priority): Promise<number> {
  const mine = BULLMQ_PRIORITY[priority];
  const [backlog, gpus] = await Promise.all([p.cache.ollamaBacklog.get(), usableGpus(p)]);
  const slots = Math.max(1, gpus.length * p.options.slotsPerGpu);
  const ahead = Object.entries(backlog.waitingByPriority)
    .filter(([level]) => Number(level) <= mine)
    .reduce((sum, [, n]) => sum + n, 0);
  const free = Math.max(0, slots - backlog.active);
  if (ahead < free) return 0;
  return Math.ceil((ahead - free + 1) / slots) * (backlog.serviceMs ?? ASSUMED_SERVICE_MS);
}

export async function loadOllamaBacklog(p: Pick<Pipeline, 'queues' | 'redis' | 'keys'>): Promise<OllamaBacklog> {
  const queue = p.queues.get('ollama');
  const [waitingByPriority, active, serviceMs] = await Promise.all([
    queue.getCountsPerPriority(Object.values(BULLMQ_PRIORITY)),
    queue.getActiveCount(),
    readServiceTimeMs(p.redis, p.keys),
  ]);
  return { waitingByPriority, active, serviceMs };
}

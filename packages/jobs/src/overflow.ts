import { BULLMQ_PRIORITY, type Priority } from './payloads.js';
import type { Pipeline } from './pipeline.js';
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
  const queue = p.queues.get('ollama');
  const mine = BULLMQ_PRIORITY[priority];
  const levels = Object.values(BULLMQ_PRIORITY).filter((level) => level <= mine);
  const [counts, active, gpus, serviceMs] = await Promise.all([
    queue.getCountsPerPriority(levels),
    queue.getActiveCount(),
    usableGpus(p),
    readServiceTimeMs(p.redis, p.keys),
  ]);
  const slots = Math.max(1, gpus.length * p.options.slotsPerGpu);
  const ahead = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const free = Math.max(0, slots - active);
  if (ahead < free) return 0;
  return Math.ceil((ahead - free + 1) / slots) * (serviceMs ?? ASSUMED_SERVICE_MS);
}

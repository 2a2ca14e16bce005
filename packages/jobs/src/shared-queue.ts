import { isLocalProvider } from '@mana/config';
import { dispatchHop } from './dispatch.js';
import { HopPayloadSchema } from './payloads.js';
import type { Pipeline } from './pipeline.js';

/**
 * Versions before per-model queues kept every GPU hop in one `{ollama}`
 * queue, which nothing reads any more. A worker process moves the hops
 * still waiting there to their models' queues at start-up (removal is the
 * once-only gate, as in the spill pass). Running hops finish where they are.
 */
export async function moveSharedQueue(p: Pipeline, batch = 500): Promise<number> {
  const queue = p.queues.get('ollama');
  let moved = 0;
  for (;;) {
    const jobs = await queue.getJobs(['prioritized', 'waiting', 'delayed'], 0, batch - 1);
    let progressed = false;
    for (const job of jobs) {
      const parsed = HopPayloadSchema.safeParse(job.data);
      if (!job.id || !parsed.success || !isLocalProvider(parsed.data.target.provider)) continue;
      if ((await queue.remove(job.id)) !== 1) continue;
      await dispatchHop(p, parsed.data);
      moved++;
      progressed = true;
    }
    if (jobs.length < batch || !progressed) return moved;
  }
}

import { ASSUMED_LOAD_MS, ASSUMED_SERVICE_MS, type GpuState, type Pipeline, hasLoaded, hasModel } from '@mana/jobs';
import type { ModelDemand } from '@mana/routing';

type Times = { service: Record<string, number>; load: Record<string, number> };

/** What server `me` knows of each model's queue when it has a free slot: the input of pickModel. */
export async function demandsFor(pipeline: Pipeline, me: GpuState, gpus: readonly GpuState[], models: readonly string[], times: Times): Promise<ModelDemand[]> {
  const demands = await Promise.all(models.map((model) => demandFor(pipeline, model, me, gpus, times)));
  await addUrgency(pipeline, demands);
  return demands;
}

async function demandFor(pipeline: Pipeline, model: string, me: GpuState, gpus: readonly GpuState[], times: Times): Promise<ModelDemand> {
  const backlog = await pipeline.cache.backlog(model).get();
  const alwaysLoaded = me.engine === 'openai'; // such engines hold every model they serve
  const others = gpus.filter((g) => g.name !== me.name && g.usable && hasModel(g, model));
  return {
    model,
    waiting: Object.values(backlog.waitingByPriority).reduce((a, b) => a + b, 0) + backlog.delayed,
    loadedHere: alwaysLoaded || hasLoaded(me, model),
    loadedElsewhereSlots: others.filter((g) => g.engine === 'openai' || hasLoaded(g, model)).reduce((sum, g) => sum + g.slots, 0),
    idleElsewhere: others.some((g) => g.busy === 0),
    emptyElsewhere: others.some((g) => g.engine !== 'openai' && g.busy === 0 && g.loaded.length === 0),
    serviceMs: times.service[model] ?? ASSUMED_SERVICE_MS,
    loadMs: alwaysLoaded ? 0 : (times.load[model] ?? me.loadMs ?? ASSUMED_LOAD_MS),
  };
}

/**
 * Only when this server has work for what it holds does a cold model's
 * oldest hop matter (may it preempt?); reading it costs a round trip, so
 * it is read only then.
 */
async function addUrgency(pipeline: Pipeline, demands: ModelDemand[]): Promise<void> {
  if (!demands.some((d) => d.loadedHere && d.waiting > 0)) return;
  const now = Date.now();
  await Promise.all(
    demands
      .filter((d) => !d.loadedHere && d.waiting > 0 && d.loadedElsewhereSlots === 0)
      .map(async (d) => {
        const [head] = await pipeline.queues.local(d.model).getJobs(['prioritized', 'waiting'], 0, 0, true);
        if (!head) return;
        d.oldestWaitedMs = now - head.timestamp;
        d.toleranceMs = (head.data as { maxWaitMs?: number | null }).maxWaitMs ?? null;
      }),
  );
}

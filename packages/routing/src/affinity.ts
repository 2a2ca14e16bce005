/** One local model's queue as a GPU server with a free slot sees it. */
export interface ModelDemand {
  model: string;
  /** Hops waiting in its queue. */
  waiting: number;
  /** Whether this server holds the model in memory now. */
  loadedHere: boolean;
  /** Slots of the other usable servers that hold it in memory (they will take its work without a load). */
  loadedElsewhereSlots: number;
  /** Measured (or assumed) service time of one hop of this model, ms. */
  serviceMs: number;
  /** Measured (or configured, or assumed) cost of loading it here, ms. */
  loadMs: number;
  /** Whether another usable server that has the model runs nothing now (it can load it without stalling other work). */
  idleElsewhere?: boolean | undefined;
  /** Whether such an idle server also holds no model at all (it can load it without evicting anything). */
  emptyElsewhere?: boolean | undefined;
  /** How long its oldest waiting hop has waited, and may wait, when known (only asked of models this server would have to load). */
  oldestWaitedMs?: number | undefined;
  toleranceMs?: number | null | undefined;
}

/**
 * Which model's queue a GPU server with a free slot takes its next job from.
 *
 * - Work for a model it holds in memory comes first: no load, no eviction.
 * - It switches models while such work is waiting only for work that would
 *   otherwise wait past its tolerance: the other model's oldest hop has
 *   waited half its tolerance and no other server holds that model.
 * - With nothing waiting for what it holds, it loads a model no server holds
 *   first; one that others hold only if leaving its work to them is clearly
 *   slower: their time to drain the queue exceeds twice the cost of a load
 *   here (the load, and the load back later). A server that is running
 *   something leaves a load to an idle server that has the model, and one
 *   holding a model leaves it to an idle server holding none.
 *
 * Ties go to the model with most waiting, then to `preference` (a rotation
 * per server, so servers starting cold spread over different models rather
 * than all loading the same one). Pure; tested table-driven.
 */
export interface ServerState {
  /** It runs something now. */
  busy: boolean;
  /** It holds some model in memory (a load here would evict it). */
  holds: boolean;
}

export function pickModel(demands: readonly ModelDemand[], preference = 0, here: ServerState = { busy: false, holds: false }): string | undefined {
  const waiting = demands.filter((d) => d.waiting > 0);
  const order = (list: ModelDemand[]) => rotate(list, preference).sort((a, b) => b.waiting - a.waiting);
  const loaded = order(waiting.filter((d) => d.loadedHere));
  // Work no server holds comes before work others are already serving.
  const cold = order(waiting.filter((d) => !d.loadedHere)).sort((a, b) => Number(a.loadedElsewhereSlots > 0) - Number(b.loadedElsewhereSlots > 0));
  if (loaded.length > 0) {
    const urgent = cold.find((d) => d.loadedElsewhereSlots === 0 && isUrgent(d));
    return (urgent ?? loaded[0]!).model;
  }
  // A server still running other work would make them share memory (or wait for them, on a card
  // that holds one model), and one holding a model would evict it: an idle server with the model,
  // or one holding nothing, loads it instead.
  return cold.find((d) => worthLoading(d) && !(here.busy && d.idleElsewhere) && !(here.holds && d.emptyElsewhere))?.model;
}

function isUrgent(d: ModelDemand): boolean {
  if (d.toleranceMs === null || d.toleranceMs === undefined || d.oldestWaitedMs === undefined) return false;
  return d.oldestWaitedMs >= d.toleranceMs / 2;
}

/**
 * A load to help servers already serving the model must save more than it
 * costs twice over: the load itself, and the load back to what this server
 * held (a switch evicts it) when its work returns.
 */
function worthLoading(d: ModelDemand): boolean {
  if (d.loadedElsewhereSlots === 0) return true;
  const drainMs = Math.ceil(d.waiting / d.loadedElsewhereSlots) * d.serviceMs;
  return drainMs > 2 * d.loadMs;
}

function rotate<T>(list: readonly T[], by: number): T[] {
  if (list.length === 0) return [];
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

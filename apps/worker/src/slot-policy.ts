import type { Job } from 'bullmq';
import { type Pipeline, PRIORITY_SCORE_UNIT, priorityClassOf } from '@mana/jobs';

/** Interactive work seen this recently counts as present: a kept slot waits for it, and no other work goes on deck. */
const INTERACTIVE_PRESENT_MS = 10_000;

export interface SlotPolicyOptions {
  slots: number;
  pipeline: Pipeline;
  /** Keep the last free slot for interactive work while some was seen lately (see mayTake). */
  keepsInteractiveSlot: boolean;
  /** Send one hop beyond the slots, which the server queues (see mayTake). */
  onDeck: boolean;
}

/**
 * Which hops one GPU server may take beyond "a slot is free": the last
 * slot kept for interactive work, and the one hop on deck. Both turn on
 * whether interactive work was seen lately, so they share that clock.
 */
export class SlotPolicy {
  /** When this server last took an interactive hop. */
  private interactiveSeenAt = 0;

  constructor(private readonly options: SlotPolicyOptions) {}

  /** Hops the server may hold at once: its slots, and the one on deck. */
  limit(): number {
    return this.options.slots + (this.options.onDeck ? 1 : 0);
  }

  /** Whether a hop taken now goes on deck (every slot is generating). */
  onDeck(inFlight: number): boolean {
    return inFlight >= this.options.slots;
  }

  noteTaken(job: Job): void {
    if ((job.data as { priority?: string }).priority === 'interactive') this.interactiveSeenAt = Date.now();
  }

  /** Whether a hop taken now is held to a rule (see mayTake): false means any hop may be taken. */
  restricted(inFlight: number): boolean {
    return this.keptSlot(inFlight) || (this.options.onDeck && this.onDeck(inFlight));
  }

  /**
   * Whether the next hop in the model's queue may be taken now. Two cases
   * look at the head of the queue (waiting hops sit in BullMQ's prioritized
   * set, best first):
   *
   * - The kept slot. Interactive p99 while a batch drains: with every other
   *   slot generating, a server that keeps a slot leaves its last one for
   *   interactive work, if it has seen some lately, instead of starting a
   *   batch or async item that an interactive request would then wait
   *   behind for a whole generation. Without interactive traffic (or with
   *   one slot) every slot takes anything.
   * - The deck. GPU utilisation between hops: with every slot generating,
   *   the server is sent one hop more, which Ollama queues (past
   *   OLLAMA_NUM_PARALLEL) and starts the moment a slot frees, with no round
   *   trip between two generations. A lone interactive hop never goes on
   *   deck (it waits for the first slot free anywhere, a kept one perhaps);
   *   the second of a line of them waits for a slot anyway, so it may.
   *   While this server sees interactive work, no other hop goes on deck: an
   *   interactive request arriving next would wait behind it. Only for
   *   servers whose own parallelism equals the slots (an operator's choice,
   *   MANA_GPU_ON_DECK): a server with more would run it at once.
   */
  async mayTake(model: string, inFlight: number): Promise<boolean> {
    const kept = this.keptSlot(inFlight);
    if (!kept && !this.restricted(inFlight)) return true;
    const { prioritized } = this.options.pipeline.queues.local(model).keys;
    if (!prioritized) return true;
    const head = await this.options.pipeline.redis.zrange(prioritized, 0, kept ? 0 : 1, 'WITHSCORES');
    const interactive = (at: number) => head.length > 2 * at + 1 && priorityClassOf(Math.floor(Number(head[2 * at + 1]) / PRIORITY_SCORE_UNIT)) === 'interactive';
    if (kept) return interactive(0);
    return interactive(0) ? interactive(1) : !this.interactivePresent();
  }

  private keptSlot(inFlight: number): boolean {
    const { slots, keepsInteractiveSlot } = this.options;
    return keepsInteractiveSlot && slots > 1 && inFlight === slots - 1 && this.interactivePresent();
  }

  private interactivePresent(): boolean {
    return Date.now() - this.interactiveSeenAt < INTERACTIVE_PRESENT_MS;
  }
}

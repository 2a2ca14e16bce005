import type { Job } from 'bullmq';
import { type GpuSpec, type Pipeline, type RedisClient, SnapshotCache, hasLoaded, hasModel } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import { pickModel } from '@mana/routing';
import { BusyReport } from './busy-report.js';
import { type HeldHopOptions, runHeldHop } from './held-hop.js';
import type { LocalWorkSignal } from './local-work-signal.js';
import { demandsFor } from './model-demand.js';
import { IDLE_POLL_MS, QueueHints } from './queue-hints.js';
import { QueueReaders } from './queue-readers.js';
import { SlotPolicy } from './slot-policy.js';

export interface GpuSchedulerOptions {
  spec: GpuSpec;
  /** The server's position in OLLAMA_HOSTS: servers starting cold prefer different models. */
  index: number;
  pipeline: Pipeline;
  /**
   * Runs one hop; resolves when the job's record is written (or throws for
   * BullMQ, see run-hop). Calls `providerDone` as soon as the server has
   * answered: its slot is free for the next hop while the record is written.
   */
  process(job: Job, providerDone: () => void): Promise<unknown>;
  /** Shared by this server's queue readers (commands only; nothing blocks on it). */
  connection: RedisClient;
  signal: LocalWorkSignal;
  log: Logger;
  endpoint: string;
  stalledIntervalMs: number;
  /** Keep the last free slot for interactive work while some was seen lately (see SlotPolicy.mayTake). */
  keepsInteractiveSlot: boolean;
  /** Send the server one hop beyond its slots, which it queues (see SlotPolicy.mayTake). */
  onDeck: boolean;
  /** Called for a hop BullMQ failed because its workers kept dying (see stalled-out). */
  onFailed(job: Job | undefined, err: Error): void;
}

interface Held {
  job: Job;
  token: string;
}

/**
 * Pulls work for one GPU server, at most `slots` hops generating at once,
 * from the queues of the models that server has. Each time a slot is free it
 * asks the routing core which model to take next (affinity: the model it
 * holds in memory first; see pickModel), then takes that queue's next hop.
 * A hop is taken only when a slot is free, never held ahead (with one
 * exception, the hop on deck, see SlotPolicy): a hop still waiting in its
 * queue can spill when it waits past its tolerance, and be cancelled by
 * removal; one held by a server could do neither.
 * BullMQ's manual fetching is used so that one cap spans several queues:
 * this class renews the locks of the hops it holds, completes or fails them,
 * and leaves a hop whose record could not be written to BullMQ's stall check
 * (its lock lapses and it runs again).
 */
export class GpuScheduler {
  private readonly readers: QueueReaders;
  /** Hops this server holds the BullMQ lock of (until they are completed or failed there). */
  private readonly held = new Map<string, Held>();
  /** Hops whose provider call is still running: what the server's slots hold, and the hop on deck. */
  private inFlight = 0;
  /** Streamed hops on deck, each waiting here for a slot to free (see begin). */
  private readonly slotWaiters: Array<() => void> = [];
  private readonly policy: SlotPolicy;
  /** Which queues are worth a fetch: one found empty is not asked again before the poll unless woken for it. */
  private readonly hints = new QueueHints();
  private readonly localModels: SnapshotCache<string[]>;
  private readonly busy: BusyReport;
  private readonly heldHop: HeldHopOptions;
  /** The local models with a queue, as last read. */
  private knownModels = new Set<string>();
  private readonly lockMs: number;
  private paused = false;
  private stopped = false;
  private forced = false;
  private tokens = 0;
  private nudge: (() => void) | undefined;
  /** Set by a wake-up (a slot freed, work queued) until the loop next looks. */
  private woken = false;
  private loop: Promise<void> | undefined;
  private lockTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;

  constructor(private readonly options: GpuSchedulerOptions) {
    this.lockMs = options.stalledIntervalMs * 2;
    this.localModels = new SnapshotCache(
      1_000,
      async () => {
        const models = await options.pipeline.queues.localModels();
        this.knownModels = new Set(models);
        return models;
      },
      5_000,
    );
    this.readers = new QueueReaders({ ...options, gpu: options.spec.name, lockMs: this.lockMs });
    this.heldHop = { ...options, forced: () => this.forced };
    this.busy = new BusyReport(options.pipeline, options.spec.name, Math.max(2_000, this.lockMs), () => this.running);
    this.policy = new SlotPolicy({ slots: options.spec.slots, pipeline: options.pipeline, keepsInteractiveSlot: options.keepsInteractiveSlot, onDeck: options.onDeck });
  }

  /** Hops generating now (the one on deck waits at the server, not counted). */
  get running(): number {
    return Math.min(this.inFlight, this.options.spec.slots);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  start(): void {
    this.unlisten = this.options.signal.on((model, hops) => {
      this.hints.announced(model, hops);
      this.options.pipeline.cache.backlog(model).clear();
      // A model new to this process means a new queue to read; work for a known one does not.
      if (!this.knownModels.has(model)) this.localModels.clear();
      this.wake();
    });
    this.lockTimer = setInterval(() => void this.renewLocks(), Math.max(50, Math.floor(this.lockMs / 3)));
    this.loop = this.run();
  }

  /** Stops or resumes taking new hops (a down or drained server); running ones go on. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.wake();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.paused || this.inFlight >= this.policy.limit()) {
        await this.sleep(IDLE_POLL_MS);
        continue;
      }
      const took = await this.takeNext().catch((err: unknown) => {
        this.options.log.error({ gpu: this.options.spec.name, err }, 'GPU scheduler could not take a job');
        return false;
      });
      if (!took) await this.sleep(IDLE_POLL_MS);
    }
  }

  /** Takes one hop if the routing core picks a model with work; false when there is none to take. */
  private async takeNext(): Promise<boolean> {
    const { pipeline, spec } = this.options;
    // Stale is good enough here (and costs no round trip): a wrong guess only tries an empty queue.
    const [fleet, models, times] = await Promise.all([pipeline.cache.fleet.getStale(), this.localModels.getStale(), pipeline.cache.times.getStale()]);
    const me = fleet.gpus.find((g) => g.name === spec.name);
    if (!me) return false;
    const now = Date.now();
    const mine = models.filter((m) => hasModel(me, m));
    // Every queue this server can serve has its reader, whose stall check recovers hops a crashed holder left active.
    for (const model of mine) this.readers.get(model);
    const served = mine.filter((m) => this.hints.worthFetching(m, now));
    if (served.length === 0) return false;
    // One model to serve, and held here: pickModel would take it whenever it has work, so try its
    // queue at once rather than read its backlog first (a fetch from an empty queue costs no more).
    if (served.length === 1 && (spec.engine === 'openai' || hasLoaded(me, served[0]!))) {
      const taken = await this.fetch(served[0]!);
      if (taken) this.begin(taken.job, taken.token);
      return taken !== undefined;
    }
    const demands = await demandsFor(pipeline, me, fleet.gpus, served, times);
    const model = pickModel(demands, this.options.index, { busy: this.inFlight > 0, holds: spec.engine !== 'openai' && me.loaded.length > 0 });
    if (!model) return false;
    const demand = demands.find((d) => d.model === model)!;
    // On deck only for a model the server holds: another would be loaded over the ones generating.
    if (this.policy.onDeck(this.inFlight) && !demand.loadedHere) return false;
    if (!demand.loadedHere && demand.loadedElsewhereSlots === 0 && !(await pipeline.health.claimLoad(spec.name, model, demand.loadMs * 2))) {
      // Another server is loading it right now: choose again once the fleet shows where it is.
      this.hints.skipUntil(model, now + 50);
      return true;
    }
    const taken = await this.fetch(model);
    if (!taken) return served.length > 1 && !this.policy.restricted(this.inFlight); // another model may have work: look again at once
    if (!demand.loadedHere && spec.engine !== 'openai') {
      // A model switch: the fleet hears of it before the hop starts, so the other servers (and
      // dispatch estimates) choose knowing it; the next probe corrects what the server evicted.
      await pipeline.health.noteLoaded(spec.name, model).catch(() => {});
      pipeline.cache.clearFleet();
    }
    this.begin(taken.job, taken.token);
    return true;
  }

  private async fetch(model: string): Promise<Held | undefined> {
    // Held back (a kept slot, the deck), not empty: the model stays wanted, for the next slot that frees and the next interactive hop.
    if (!(await this.policy.mayTake(model, this.inFlight))) return undefined;
    const token = `${this.options.endpoint}:${this.tokens++}`;
    const heard = this.hints.fetching(model);
    const job = await this.readers.get(model).getNextJob(token, { block: false });
    if (!job?.id) {
      this.hints.foundEmpty(model, heard, Date.now());
      this.options.pipeline.cache.backlog(model).clear();
      return undefined;
    }
    if (this.hints.took(model, Date.now())) this.options.pipeline.cache.backlog(model).clear();
    this.policy.noteTaken(job);
    this.held.set(job.id, { job, token });
    return { job, token };
  }

  /**
   * Runs a hop taken. One on deck is sent at once, and the server queues it;
   * a streamed one waits here for a slot instead, so its first-token
   * deadline counts from when it can start generating.
   */
  private begin(job: Job, token: string): void {
    // Counted now, not when the fetch began: a slot may have freed meanwhile, and a streamed hop must not wait for another.
    const onDeck = this.policy.onDeck(this.inFlight);
    this.inFlight++;
    if (this.inFlight === 1) this.busy.changed();
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.inFlight--;
      if (this.inFlight === 0) this.busy.changed();
      this.slotWaiters.shift()?.();
      this.wake();
    };
    const slot = onDeck && isStreamed(job) ? new Promise<void>((resolve) => this.slotWaiters.push(resolve)) : Promise.resolve();
    // A forced stop meanwhile leaves it to stall and run again elsewhere, like the hops it aborted.
    void slot
      .then(() => (this.forced ? undefined : runHeldHop(this.heldHop, job, token, free)))
      .finally(() => {
        free();
        this.held.delete(job.id!);
      });
  }

  private async renewLocks(): Promise<void> {
    for (const { job, token } of this.held.values()) {
      await job.extendLock(token, this.lockMs).catch((err: unknown) => this.options.log.warn({ jobId: job.id, err }, 'could not renew a hop lock'));
    }
  }

  /** Sleeps until woken or `ms` pass; a wake-up that came while the loop was busy ends it at once. */
  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.nudge = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.nudge = done;
    });
  }

  private wake(): void {
    this.woken = true;
    this.nudge?.();
  }

  /** Stops taking hops; waits up to `graceMs` for running ones, then aborts them (they stall and rerun elsewhere). */
  async close(graceMs: number, abortAll: () => void): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    this.wake();
    await this.loop;
    const deadline = Date.now() + graceMs;
    while (this.held.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.held.size > 0) {
      this.forced = true;
      abortAll();
    }
    clearInterval(this.lockTimer);
    this.busy.close();
    await this.readers.close();
  }
}

function isStreamed(job: Job): boolean {
  const work = (job.data as { work?: { kind?: string; stream?: boolean } }).work;
  return work?.kind === 'chat' && work.stream === true;
}

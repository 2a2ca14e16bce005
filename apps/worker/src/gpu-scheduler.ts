import { type Job, UnrecoverableError, Worker } from 'bullmq';
import {
  ASSUMED_LOAD_MS,
  ASSUMED_SERVICE_MS,
  FINISHED_HOP_RETENTION,
  type GpuSpec,
  type GpuState,
  type Pipeline,
  type RedisClient,
  SnapshotCache,
  hasLoaded,
  hasModel,
} from '@mana/jobs';
import type { Logger } from '@mana/logging';
import { type ModelDemand, pickModel } from '@mana/routing';
import type { LocalWorkSignal } from './local-work-signal.js';

export interface GpuSchedulerOptions {
  spec: GpuSpec;
  /** The server's position in OLLAMA_HOSTS: servers starting cold prefer different models. */
  index: number;
  pipeline: Pipeline;
  /** Runs one hop; resolves when the job's record is written (or throws for BullMQ, see run-hop). */
  process(job: Job): Promise<unknown>;
  /** Shared by this server's queue readers (commands only; nothing blocks on it). */
  connection: RedisClient;
  signal: LocalWorkSignal;
  log: Logger;
  endpoint: string;
  stalledIntervalMs: number;
  /** Called for a hop BullMQ failed because its workers kept dying (see stalled-out). */
  onFailed(job: Job | undefined, err: Error): void;
}

/** With nothing to take, look again this often even without a wake-up (delayed retries). */
const IDLE_POLL_MS = 200;

/**
 * Pulls work for one GPU server, at most `slots` hops at once, from the
 * queues of the models that server has. Each time a slot is free it asks
 * the routing core which model to take next (affinity: the model it holds
 * in memory first; see pickModel), then takes that queue's next hop.
 * BullMQ's manual fetching is used so that one cap spans several queues:
 * this class renews the locks of the hops it runs, completes or fails them,
 * and leaves a hop whose record could not be written to BullMQ's stall
 * check (its lock lapses and it runs again).
 */
export class GpuScheduler {
  private readonly readers = new Map<string, Worker>();
  private readonly inFlight = new Map<string, { job: Job; token: string }>();
  /** Models whose queue came back empty, not asked again before this time unless woken for them. */
  private readonly emptyUntil = new Map<string, number>();
  private readonly localModels: SnapshotCache<string[]>;
  private readonly lockMs: number;
  private paused = false;
  private stopped = false;
  private forced = false;
  private tokens = 0;
  private nudge: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lockTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;

  constructor(private readonly options: GpuSchedulerOptions) {
    this.lockMs = options.stalledIntervalMs * 2;
    this.localModels = new SnapshotCache(1_000, () => options.pipeline.queues.localModels());
  }

  get running(): number {
    return this.inFlight.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  start(): void {
    this.unlisten = this.options.signal.on((model) => {
      this.emptyUntil.delete(model);
      this.options.pipeline.cache.backlog(model).clear();
      this.localModels.clear();
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
      if (this.paused || this.inFlight.size >= this.options.spec.slots) {
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
    const [fleet, models, times] = await Promise.all([pipeline.cache.fleet.get(), this.localModels.get(), pipeline.cache.times.get()]);
    const me = fleet.gpus.find((g) => g.name === spec.name);
    if (!me) return false;
    const now = Date.now();
    const mine = models.filter((m) => hasModel(me, m));
    // Every queue this server can serve has its reader, whose stall check recovers hops a crashed holder left active.
    for (const model of mine) this.reader(model);
    const served = mine.filter((m) => (this.emptyUntil.get(m) ?? 0) <= now);
    const demands = await Promise.all(served.map((model) => this.demandFor(model, me, fleet.gpus, times)));
    await this.addUrgency(demands);
    const model = pickModel(demands, this.options.index, { busy: this.inFlight.size > 0, holds: spec.engine !== 'openai' && me.loaded.length > 0 });
    if (!model) return false;
    const demand = demands.find((d) => d.model === model)!;
    const wasLoaded = demand.loadedHere;
    if (!wasLoaded && demand.loadedElsewhereSlots === 0 && !(await pipeline.health.claimLoad(spec.name, model, demand.loadMs * 2))) {
      // Another server is loading it right now: choose again once the fleet shows where it is.
      this.emptyUntil.set(model, now + 50);
      return true;
    }
    const token = `${this.options.endpoint}:${this.tokens++}`;
    const job = await this.reader(model).getNextJob(token, { block: false });
    if (!job?.id) {
      this.emptyUntil.set(model, now + IDLE_POLL_MS);
      pipeline.cache.backlog(model).clear();
      return served.length > 1; // another model may have work: look again at once
    }
    if (!wasLoaded && spec.engine !== 'openai') {
      // A model switch: the fleet hears of it before the hop starts, so the other servers (and
      // dispatch estimates) choose knowing it; the next probe corrects what the server evicted.
      await pipeline.health.noteLoaded(spec.name, model).catch(() => {});
      pipeline.cache.clearFleet();
    }
    this.begin(job, token);
    return true;
  }

  private async demandFor(model: string, me: GpuState, gpus: readonly GpuState[], times: { service: Record<string, number>; load: Record<string, number> }): Promise<ModelDemand> {
    const backlog = await this.options.pipeline.cache.backlog(model).get();
    const alwaysLoaded = me.engine === 'openai'; // such engines hold every model they serve
    return {
      model,
      waiting: Object.values(backlog.waitingByPriority).reduce((a, b) => a + b, 0) + backlog.delayed,
      loadedHere: alwaysLoaded || hasLoaded(me, model),
      loadedElsewhereSlots: gpus
        .filter((g) => g.name !== me.name && g.usable && hasModel(g, model) && (g.engine === 'openai' || hasLoaded(g, model)))
        .reduce((sum, g) => sum + g.slots, 0),
      idleElsewhere: gpus.some((g) => g.name !== me.name && g.usable && hasModel(g, model) && g.busy === 0),
      emptyElsewhere: gpus.some((g) => g.name !== me.name && g.usable && g.engine !== 'openai' && hasModel(g, model) && g.busy === 0 && g.loaded.length === 0),
      serviceMs: times.service[model] ?? ASSUMED_SERVICE_MS,
      loadMs: alwaysLoaded ? 0 : (times.load[model] ?? me.loadMs ?? ASSUMED_LOAD_MS),
    };
  }

  /**
   * Only when this server has work for what it holds does a cold model's
   * oldest hop matter (may it preempt?); reading it costs a round trip, so
   * it is read only then.
   */
  private async addUrgency(demands: ModelDemand[]): Promise<void> {
    if (!demands.some((d) => d.loadedHere && d.waiting > 0)) return;
    const now = Date.now();
    await Promise.all(
      demands
        .filter((d) => !d.loadedHere && d.waiting > 0 && d.loadedElsewhereSlots === 0)
        .map(async (d) => {
          const [head] = await this.options.pipeline.queues.local(d.model).getJobs(['prioritized', 'waiting'], 0, 0, true);
          if (!head) return;
          d.oldestWaitedMs = now - head.timestamp;
          d.toleranceMs = (head.data as { maxWaitMs?: number | null }).maxWaitMs ?? null;
        }),
    );
  }

  private begin(job: Job, token: string): void {
    this.inFlight.set(job.id!, { job, token });
    if (this.inFlight.size === 1) this.writeBusy();
    void this.finish(job, token).finally(() => {
      this.inFlight.delete(job.id!);
      if (this.inFlight.size === 0) this.writeBusy();
      this.wake();
    });
  }

  /**
   * Whether this server is idle matters to the others' choices (see
   * pickModel): written when it starts or stops being idle, not per hop;
   * the GPU worker's tick refreshes the count in between.
   */
  private writeBusy(): void {
    const { pipeline, spec } = this.options;
    void pipeline.redis.set(pipeline.keys.gpuBusy(spec.name), String(this.inFlight.size), 'PX', Math.max(2_000, this.lockMs)).catch(() => {});
  }

  private async finish(job: Job, token: string): Promise<void> {
    if (job.deferredFailure) {
      // BullMQ's stall check marks a hop whose workers kept dying; its Worker fails such a hop when
      // fetched, and so do we (then it is routed on, see stalled-out).
      const err = new UnrecoverableError(job.deferredFailure);
      await job.moveToFailed(err, token, false).catch(() => {});
      this.options.onFailed(job, err);
      return;
    }
    try {
      const outcome = await this.withTraceOf(job, () => this.options.process(job));
      if (!this.forced) await job.moveToCompleted(outcome, token, false);
    } catch (err) {
      if (this.forced) return; // aborted by a forced stop: left to stall and run again elsewhere
      if (err instanceof UnrecoverableError) {
        // Routed already; failed in BullMQ too, so the board shows the provider's error on this hop.
        await job.moveToFailed(err, token, false).catch((e: unknown) => this.options.log.warn({ jobId: job.id, err: e }, 'could not mark a failed hop in BullMQ'));
        return;
      }
      // Redis stayed away past the retry deadline: the hop's lock lapses and the stall check reruns it.
      this.options.log.warn({ jobId: job.id, err }, 'hop left to the stall check');
    }
  }

  /** Runs `fn` in the trace the hop was queued in (BullMQ's own Worker does this for processor jobs). */
  private withTraceOf<T>(job: Job, fn: () => Promise<T>): Promise<T> {
    const telemetry = this.options.pipeline.tracing.bullmq;
    const metadata = job.opts.telemetry?.metadata;
    if (!telemetry || !metadata) return fn();
    const { contextManager } = telemetry;
    return contextManager.with(contextManager.fromMetadata(contextManager.active(), metadata), fn);
  }

  private async renewLocks(): Promise<void> {
    for (const { job, token } of this.inFlight.values()) {
      await job.extendLock(token, this.lockMs).catch((err: unknown) => this.options.log.warn({ jobId: job.id, err }, 'could not renew a hop lock'));
    }
  }

  /** The reader of one model's queue: a BullMQ Worker without a processor (manual fetching). */
  private reader(model: string): Worker {
    let worker = this.readers.get(model);
    if (!worker) {
      const { pipeline } = this.options;
      worker = new Worker(pipeline.keys.localQueueName(model), undefined, {
        connection: this.options.connection,
        prefix: pipeline.keys.prefix,
        autorun: false,
        name: this.options.endpoint,
        stalledInterval: this.options.stalledIntervalMs,
        lockDuration: this.lockMs,
        maxStalledCount: 2,
        ...FINISHED_HOP_RETENTION,
        ...(pipeline.tracing.bullmq ? { telemetry: pipeline.tracing.bullmq } : {}),
      });
      worker.on('error', (err) => this.options.log.error({ gpu: this.options.spec.name, model, err }, 'GPU queue reader error'));
      worker.on('failed', (failed, err) => this.options.onFailed(failed, err));
      // Manual fetching does not start BullMQ's stall check by itself; a crashed holder's hops need it.
      void worker.startStalledCheckTimer().catch(() => {});
      this.readers.set(model, worker);
    }
    return worker;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.nudge = done;
    });
  }

  private wake(): void {
    const nudge = this.nudge;
    this.nudge = undefined;
    nudge?.();
  }

  /** Stops taking hops; waits up to `graceMs` for running ones, then aborts them (they stall and rerun elsewhere). */
  async close(graceMs: number, abortAll: () => void): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    this.wake();
    await this.loop;
    const deadline = Date.now() + graceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.inFlight.size > 0) {
      this.forced = true;
      abortAll();
    }
    clearInterval(this.lockTimer);
    await Promise.all([...this.readers.values()].map((w) => w.close(true).catch(() => {})));
    this.readers.clear();
  }
}

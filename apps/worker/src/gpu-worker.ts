import type { OllamaHost } from '@mana/config';
import type { ProviderError } from '@mana/errors';
import { type GpuSpec, type Pipeline, type RedisClient, ServiceTimeTracker } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ProviderAdapter } from '@mana/providers';
import { GpuLease } from './gpu-lease.js';
import { GpuScheduler } from './gpu-scheduler.js';
import type { LocalWorkSignal } from './local-work-signal.js';
import { createHopProcessor } from './run-hop.js';
import { rerouteStalledOut } from './stalled-out.js';
import type { RunningJobs } from './running-jobs.js';

export interface GpuWorkerOptions {
  host: OllamaHost;
  spec: GpuSpec;
  /** The server's position in OLLAMA_HOSTS. */
  index: number;
  adapter: ProviderAdapter;
  pipeline: Pipeline;
  /** Makes a connection for this server's queue readers. */
  connect: () => RedisClient;
  signal: LocalWorkSignal;
  running: RunningJobs;
  log: Logger;
  owner: string;
  timeoutMs: number;
  /** For streamed hops: the first-token and idle deadlines. */
  stream: { firstTokenMs: number; idleMs: number };
  stalledIntervalMs: number;
  /** This server keeps its last free slot for interactive work while there is some (MANA_INTERACTIVE_RESERVED_SLOTS). */
  keepsInteractiveSlot?: boolean;
  /** Send the server one hop ahead of its slots, which it queues (MANA_GPU_ON_DECK; Ollama engines only). */
  onDeck?: boolean;
}

/** A load shorter than this is the server answering, not loading. */
const MIN_LOAD_MS = 50;

/**
 * Serves one GPU server, at most its `slots` hops at once. It runs only while
 * this process holds the server's lease (so the cap holds across replicas),
 * and takes no new hops while the server is down or drained.
 */
export class GpuWorker {
  private scheduler: GpuScheduler | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly lease: GpuLease;
  private readonly serviceTimes: ServiceTimeTracker;
  private readonly tickMs: number;
  private answeredAt: number | undefined;

  constructor(private readonly options: GpuWorkerOptions) {
    const { pipeline, host } = options;
    this.tickMs = Math.max(100, Math.floor(options.stalledIntervalMs / 4));
    this.lease = new GpuLease(pipeline.redis, pipeline.keys.gpuLease(host.name), options.owner, options.stalledIntervalMs * 2);
    this.serviceTimes = new ServiceTimeTracker(pipeline.redis, pipeline.keys);
  }

  get endpoint(): string {
    return `ollama:${this.options.host.name}`;
  }

  /** True while this process serves the GPU. */
  get active(): boolean {
    return this.scheduler !== undefined;
  }

  /** True while it takes new hops (not paused for a down or drained GPU). */
  get takingJobs(): boolean {
    return this.scheduler !== undefined && !this.scheduler.isPaused;
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const held = await this.lease.hold();
      if (held && !this.scheduler) this.scheduler = this.createScheduler();
      if (!held && this.scheduler) {
        this.options.log.warn({ gpu: this.options.host.name }, 'lost the GPU lease; standing by');
        await this.stopScheduler(0);
      }
      if (this.scheduler) {
        await this.followHealth(this.scheduler);
        // What the GPU runs now, for /metrics and wait estimates in any process; expires if this process dies.
        await this.options.pipeline.redis.set(this.options.pipeline.keys.gpuBusy(this.options.host.name), String(this.scheduler.running), 'PX', this.tickMs * 4);
      }
    } catch (err) {
      this.options.log.error({ gpu: this.options.host.name, err }, 'GPU worker tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Pauses while the GPU is down or drained; resumes when it is back. */
  private async followHealth(scheduler: GpuScheduler): Promise<void> {
    const { health } = this.options.pipeline;
    const name = this.options.host.name;
    const [state, drained] = await Promise.all([health.gpu(name), health.drained([name])]);
    const usable = state?.ok !== false && !drained.has(name);
    if (!usable && !scheduler.isPaused) {
      this.options.log.warn({ gpu: name, reason: drained.has(name) ? 'drained' : state?.detail }, 'GPU unavailable; it stops taking jobs');
      scheduler.setPaused(true);
    } else if (usable && scheduler.isPaused) {
      this.options.log.info({ gpu: name }, 'GPU available again; it takes jobs again');
      scheduler.setPaused(false);
    }
  }

  private createScheduler(): GpuScheduler {
    const { host, pipeline, log, spec } = this.options;
    log.info({ gpu: host.name, slots: spec.slots, engine: spec.engine }, 'serving GPU');
    const processor = createHopProcessor({
      pipeline,
      adapter: this.options.adapter,
      endpoint: this.endpoint,
      timeoutMs: this.options.timeoutMs,
      stream: this.options.stream,
      running: this.options.running,
      log,
      onSuccess: (ms, payload, loadMs) => {
        this.answeredAt = Date.now();
        // Service time without the load: the load is the cost of a switch, estimated on its own.
        this.serviceTimes.record(payload.target.model, Math.max(1, ms - loadMs));
        if (loadMs >= MIN_LOAD_MS) this.serviceTimes.recordLoad(payload.target.model, loadMs);
      },
      onProviderError: (err) => this.onProviderError(err),
    });
    const scheduler = new GpuScheduler({
      spec,
      index: this.options.index,
      pipeline,
      process: processor,
      connection: this.options.connect(),
      signal: this.options.signal,
      log,
      endpoint: this.endpoint,
      stalledIntervalMs: this.options.stalledIntervalMs,
      keepsInteractiveSlot: this.options.keepsInteractiveSlot ?? false,
      onDeck: (this.options.onDeck ?? false) && spec.engine === 'ollama',
      onFailed: rerouteStalledOut(pipeline, log),
    });
    scheduler.start();
    return scheduler;
  }

  /** When the server last answered a hop this worker ran (epoch ms), if it has: the health probe's evidence that it is busy, not down. */
  lastAnswerAt(): number | undefined {
    return this.answeredAt;
  }

  /** A GPU that refuses connections is marked down at once: the next jobs go elsewhere. */
  private async onProviderError(err: ProviderError): Promise<void> {
    if (err.code !== 'provider_unavailable' && err.code !== 'provider_timeout') return;
    if (err.upstreamStatus !== undefined && err.upstreamStatus < 500) return;
    await this.options.pipeline.health.setGpu(this.options.host.name, { ok: false, detail: err.message });
    this.options.pipeline.cache.clearFleet();
    this.scheduler?.setPaused(true);
  }

  private async stopScheduler(graceMs: number): Promise<void> {
    const scheduler = this.scheduler;
    this.scheduler = undefined;
    await scheduler?.close(graceMs, () => this.options.running.abortAll());
  }

  /** Finishes in-flight hops within the grace period, then lets the standby take the GPU. */
  async close(graceMs: number): Promise<void> {
    clearInterval(this.timer);
    while (this.ticking) await new Promise((resolve) => setTimeout(resolve, 10).unref());
    await this.stopScheduler(graceMs);
    await this.lease.release().catch(() => {});
  }
}

import { DelayedError, type Job, Worker } from 'bullmq';
import type { OllamaHost } from '@mana/config';
import type { ProviderError } from '@mana/errors';
import { FINISHED_HOP_RETENTION, type Pipeline, type RedisClient, ServiceTimeTracker } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ProviderAdapter } from '@mana/providers';
import { GpuLease } from './gpu-lease.js';
import { createHopProcessor } from './run-hop.js';
import { rerouteStalledOut } from './stalled-out.js';
import type { RunningJobs } from './running-jobs.js';

export interface GpuWorkerOptions {
  host: OllamaHost;
  adapter: ProviderAdapter;
  pipeline: Pipeline;
  /** Makes the Worker's own blocking connection. */
  connect: () => RedisClient;
  running: RunningJobs;
  log: Logger;
  owner: string;
  concurrency: number;
  timeoutMs: number;
  stalledIntervalMs: number;
}

/**
 * One BullMQ Worker bound to one GPU server, at most `concurrency` jobs at
 * once. It runs only while this process holds the GPU's lease, and takes no
 * new jobs while the GPU is down or drained.
 */
export class GpuWorker {
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private running = 0;
  private readonly lease: GpuLease;
  private readonly serviceTimes: ServiceTimeTracker;
  private readonly tickMs: number;

  constructor(private readonly options: GpuWorkerOptions) {
    const { pipeline, host } = options;
    this.tickMs = Math.max(100, Math.floor(options.stalledIntervalMs / 4));
    this.lease = new GpuLease(pipeline.redis, pipeline.keys.gpuLease(host.name), options.owner, options.stalledIntervalMs * 2);
    this.serviceTimes = new ServiceTimeTracker(pipeline.redis, pipeline.keys);
  }

  get endpoint(): string {
    return `ollama:${this.options.host.name}`;
  }

  /** True while this process runs the GPU's Worker. */
  get active(): boolean {
    return this.worker !== undefined;
  }

  /** True while that Worker takes new jobs (not paused for a down or drained GPU). */
  get takingJobs(): boolean {
    return this.worker !== undefined && !this.worker.isPaused();
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
      if (held && !this.worker) this.worker = this.createWorker();
      if (!held && this.worker) {
        this.options.log.warn({ gpu: this.options.host.name }, 'lost the GPU lease; standing by');
        await this.stopWorker(0);
      }
      if (this.worker) {
        await this.followHealth(this.worker);
        // What the GPU runs now, for /metrics in any API process; expires if this process dies.
        await this.options.pipeline.redis.set(this.options.pipeline.keys.gpuBusy(this.options.host.name), String(this.running), 'PX', this.tickMs * 4);
      }
    } catch (err) {
      this.options.log.error({ gpu: this.options.host.name, err }, 'GPU worker tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Pauses while the GPU is down or drained; resumes when it is back. */
  private async followHealth(worker: Worker): Promise<void> {
    const { health } = this.options.pipeline;
    const name = this.options.host.name;
    const [state, drained] = await Promise.all([health.gpu(name), health.drained([name])]);
    const usable = state?.ok !== false && !drained.has(name);
    if (!usable && !worker.isPaused()) {
      this.options.log.warn({ gpu: name, reason: drained.has(name) ? 'drained' : state?.detail }, 'GPU unavailable; its worker stops taking jobs');
      await worker.pause(true);
    } else if (usable && worker.isPaused()) {
      this.options.log.info({ gpu: name }, 'GPU available again; its worker resumes');
      worker.resume();
    }
  }

  private createWorker(): Worker {
    const { host, pipeline, log } = this.options;
    log.info({ gpu: host.name, concurrency: this.options.concurrency }, 'serving GPU');
    const processor = createHopProcessor({
      pipeline,
      adapter: this.options.adapter,
      endpoint: this.endpoint,
      timeoutMs: this.options.timeoutMs,
      running: this.options.running,
      log,
      onSuccess: (ms) => this.serviceTimes.record(ms),
      onProviderError: (err) => this.onProviderError(err),
    });
    const counted = async (job: Job, token?: string) => {
      // BullMQ's pause does not stop a fetch already waiting for the next job: one job can
      // still arrive after a drain (or a GPU-down pause). Hand it back untouched.
      if (this.worker?.isPaused() && token) {
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      this.running++;
      try {
        return await processor(job);
      } finally {
        this.running--;
      }
    };
    const worker = new Worker(pipeline.keys.queueName('ollama'), counted, {
      connection: this.options.connect(),
      prefix: pipeline.keys.prefix,
      concurrency: this.options.concurrency,
      name: this.endpoint,
      stalledInterval: this.options.stalledIntervalMs,
      lockDuration: this.options.stalledIntervalMs * 2,
      maxStalledCount: 2,
      ...FINISHED_HOP_RETENTION,
      ...(pipeline.tracing.bullmq ? { telemetry: pipeline.tracing.bullmq } : {}),
    });
    worker.on('error', (err) => log.error({ gpu: host.name, err }, 'GPU worker error'));
    worker.on('failed', rerouteStalledOut(pipeline, log));
    return worker;
  }

  /** A GPU that refuses connections is marked down at once: the next jobs go elsewhere. */
  private async onProviderError(err: ProviderError): Promise<void> {
    if (err.code !== 'provider_unavailable' && err.code !== 'provider_timeout') return;
    if (err.upstreamStatus !== undefined && err.upstreamStatus < 500) return;
    await this.options.pipeline.health.setGpu(this.options.host.name, { ok: false, detail: err.message });
    this.options.pipeline.cache.usableGpus.clear();
    if (this.worker && !this.worker.isPaused()) await this.worker.pause(true);
  }

  private async stopWorker(graceMs: number): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const closing = worker.close();
    const forced = await Promise.race([closing.then(() => false), sleep(graceMs).then(() => true)]);
    if (forced) {
      this.options.running.abortAll();
      await worker.close(true);
    }
  }

  /** Finishes in-flight jobs within the grace period, then lets the standby take the GPU. */
  async close(graceMs: number): Promise<void> {
    clearInterval(this.timer);
    while (this.ticking) await sleep(10);
    await this.stopWorker(graceMs);
    await this.lease.release().catch(() => {});
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

import { type Job, Worker } from 'bullmq';
import { FINISHED_HOP_RETENTION, type Pipeline, type RedisClient } from '@mana/jobs';
import type { Logger } from '@mana/logging';

/**
 * One reader per local model's queue for a GPU server: a BullMQ Worker
 * without a processor (manual fetching), so that one cap can span several
 * queues. Each runs BullMQ's stall check, which manual fetching does not
 * start by itself, so hops a crashed holder left active run again.
 */
export class QueueReaders {
  private readonly readers = new Map<string, Worker>();

  constructor(
    private readonly options: {
      pipeline: Pipeline;
      connection: RedisClient;
      endpoint: string;
      gpu: string;
      stalledIntervalMs: number;
      lockMs: number;
      log: Logger;
      onFailed(job: Job | undefined, err: Error): void;
    },
  ) {}

  get(model: string): Worker {
    let worker = this.readers.get(model);
    if (!worker) {
      const { pipeline, log } = this.options;
      worker = new Worker(pipeline.keys.localQueueName(model), undefined, {
        connection: this.options.connection,
        prefix: pipeline.keys.prefix,
        autorun: false,
        name: this.options.endpoint,
        stalledInterval: this.options.stalledIntervalMs,
        lockDuration: this.options.lockMs,
        maxStalledCount: 2,
        ...FINISHED_HOP_RETENTION,
        ...(pipeline.tracing.bullmq ? { telemetry: pipeline.tracing.bullmq } : {}),
      });
      worker.on('error', (err) => log.error({ gpu: this.options.gpu, model, err }, 'GPU queue reader error'));
      worker.on('failed', (failed, err) => this.options.onFailed(failed, err));
      void worker.startStalledCheckTimer().catch(() => {});
      this.readers.set(model, worker);
    }
    return worker;
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers.values()].map((w) => w.close(true).catch(() => {})));
    this.readers.clear();
  }
}

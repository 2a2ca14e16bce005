import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/** The baseline: add a job to a bare BullMQ queue, a Worker processes it, wait until it completed. */
export interface BareBullmq {
  run(): Promise<void>;
  close(): Promise<void>;
}

export function startBareBullmq(redisUrl: string, concurrency: number): BareBullmq {
  const name = `bench-bare-${randomUUID().slice(0, 8)}`;
  const connections = [0, 1].map(() => new Redis(redisUrl, { maxRetriesPerRequest: null }));
  const queue = new Queue(name, { connection: connections[0]!, defaultJobOptions: { removeOnComplete: true } });
  const waiting = new Map<string, () => void>();
  const worker = new Worker(name, async () => 'ok', { connection: connections[1]!, concurrency });
  worker.on('completed', (job) => waiting.get(job.id ?? '')?.());
  return {
    run: async () => {
      const id = randomUUID();
      const done = new Promise<void>((resolve) => waiting.set(id, resolve));
      await queue.add('noop', {}, { jobId: id });
      await done;
      waiting.delete(id);
    },
    close: async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      for (const c of connections) c.disconnect();
    },
  };
}

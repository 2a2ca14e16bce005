import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Keys } from './keys.js';

const Base = { seq: z.number().int().positive(), hop: z.number().int() };
const SerializedErrorShape = z.object({ name: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }).passthrough();

/** Every event a job publishes, in order, each with a sequence number from 1. */
export const JobEventSchema = z.discriminatedUnion('type', [
  z.object({ ...Base, type: z.literal('queued') }),
  z.object({ ...Base, type: z.literal('started'), target: z.string(), endpoint: z.string() }),
  z.object({ ...Base, type: z.literal('delta'), content: z.string() }),
  z.object({ ...Base, type: z.literal('hop'), target: z.string(), reason: z.string() }),
  z.object({ ...Base, type: z.literal('restart'), reason: z.string() }),
  z.object({ ...Base, type: z.literal('done'), model: z.string(), provider: z.string(), usage: z.object({ promptTokens: z.number(), completionTokens: z.number() }), result: z.unknown() }),
  z.object({ ...Base, type: z.literal('error'), error: SerializedErrorShape }),
  z.object({ ...Base, type: z.literal('cancelled') }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;

export function isTerminalEvent(event: JobEvent): boolean {
  return event.type === 'done' || event.type === 'error' || event.type === 'cancelled';
}

/** Reads a job's stored events after `afterSeq` (for late readers and gap repair). */
export async function readEvents(redis: Redis, keys: Keys, jobId: string, afterSeq = 0): Promise<JobEvent[]> {
  const entries = await redis.xrange(keys.jobEvents(jobId), '-', '+');
  const events: JobEvent[] = [];
  for (const [, fields] of entries) {
    const event = parseEvent(fields[1]);
    if (event && event.seq > afterSeq) events.push(event);
  }
  return events;
}

export function parseEvent(raw: string | undefined): JobEvent | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JobEventSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

type Listener = (event: JobEvent) => void;

interface Subscription {
  listeners: Set<Listener>;
  /** Highest sequence number delivered; a jump means a lost message to repair from the stream. */
  lastSeq: number;
  repairing: Promise<void> | undefined;
  pending: JobEvent[];
}

/**
 * One subscriber connection per process, shared by every job it watches.
 * Delivers each job's events exactly once and in order: a message that
 * skips a sequence number triggers a read of the missing ones from the job's
 * stream, and duplicates (from a repair racing live messages) are dropped.
 */
export class JobEventHub {
  private readonly subs = new Map<string, Subscription>();

  constructor(
    private readonly subscriber: Redis,
    private readonly reader: Redis,
    private readonly keys: Keys,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  /**
   * Starts listening to a job; resolves once Redis confirms, so the caller
   * may then dispatch work without missing an event. Returns the unsubscribe.
   */
  async subscribe(jobId: string, listener: Listener, afterSeq = 0): Promise<() => void> {
    const channel = this.keys.jobChannel(jobId);
    let sub = this.subs.get(channel);
    if (!sub) {
      sub = { listeners: new Set(), lastSeq: afterSeq, repairing: undefined, pending: [] };
      this.subs.set(channel, sub);
      await this.subscriber.subscribe(channel);
    }
    sub.listeners.add(listener);
    const current = sub;
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.subs.get(channel) === current) {
        this.subs.delete(channel);
        void this.subscriber.unsubscribe(channel).catch(() => {});
      }
    };
  }

  /** Delivers events already stored (a late or resuming reader), then live ones continue in order. */
  async catchUp(jobId: string): Promise<void> {
    const sub = this.subs.get(this.keys.jobChannel(jobId));
    if (sub) await this.repair(jobId, sub);
  }

  private onMessage(channel: string, message: string): void {
    const sub = this.subs.get(channel);
    const event = parseEvent(message);
    if (!sub || !event) return;
    if (sub.repairing) {
      sub.pending.push(event);
      return;
    }
    if (event.seq <= sub.lastSeq) return;
    if (event.seq > sub.lastSeq + 1) {
      sub.pending.push(event);
      void this.repair(channel.slice(this.keys.jobChannel('').length), sub);
      return;
    }
    this.deliver(sub, event);
  }

  private repair(jobId: string, sub: Subscription): Promise<void> {
    sub.repairing ??= (async () => {
      try {
        const stored = await readEvents(this.reader, this.keys, jobId, sub.lastSeq);
        for (const event of stored) if (event.seq === sub.lastSeq + 1) this.deliver(sub, event);
      } finally {
        sub.repairing = undefined;
        const pending = sub.pending.sort((a, b) => a.seq - b.seq);
        sub.pending = [];
        for (const event of pending) if (event.seq === sub.lastSeq + 1) this.deliver(sub, event);
      }
    })();
    return sub.repairing;
  }

  private deliver(sub: Subscription, event: JobEvent): void {
    sub.lastSeq = event.seq;
    for (const listener of [...sub.listeners]) listener(event);
  }
}

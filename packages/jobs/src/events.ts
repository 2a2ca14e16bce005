import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { Keys } from './keys.js';
import { WATCHED } from './record-scripts.js';
import { hearEndsHere } from './local-replies.js';

const Base = { seq: z.number().int().positive(), job: z.string(), hop: z.number().int() };
const SerializedErrorShape = z.object({ name: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }).passthrough();

/** Every event a job publishes, in order, each with a sequence number from 1. */
export const JobEventSchema = z.discriminatedUnion('type', [
  z.object({ ...Base, type: z.literal('queued') }),
  z.object({ ...Base, type: z.literal('started'), target: z.string(), endpoint: z.string() }),
  z.object({ ...Base, type: z.literal('delta'), content: z.string() }),
  z.object({ ...Base, type: z.literal('hop'), target: z.string(), reason: z.string() }),
  // `continues`: keep the first `kept` characters of the text so far, the deltas that follow go on from there; without it, drop the text so far.
  z.object({ ...Base, type: z.literal('restart'), reason: z.string(), continues: z.literal(true).optional(), kept: z.number().int().min(0).optional() }),
  z.object({
    ...Base,
    type: z.literal('done'),
    model: z.string(),
    provider: z.string(),
    usage: z.object({ promptTokens: z.number(), completionTokens: z.number() }),
    result: z.unknown(),
  }),
  z.object({ ...Base, type: z.literal('error'), error: SerializedErrorShape }),
  z.object({ ...Base, type: z.literal('cancelled') }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;

export function isTerminalEvent(event: JobEvent): boolean {
  return event.type === 'done' || event.type === 'error' || event.type === 'cancelled';
}

/**
 * Reads a job's stored events after `afterSeq` (for late readers and gap
 * repair). A done event is stored without its result, which the record
 * holds (see FINISH): it is read from there.
 */
export async function readEvents(redis: RedisClient, keys: Keys, jobId: string, afterSeq = 0): Promise<JobEvent[]> {
  const entries = await redis.xrange(keys.jobEvents(jobId), '-', '+');
  const events: JobEvent[] = [];
  for (const [, fields] of entries) {
    const raw = parseJson(fields[1]);
    if (raw?.resultInRecord === true) {
      const result = await redis.hget(keys.jobRecord(jobId), 'result');
      raw.result = result === null ? null : (JSON.parse(result) as unknown);
      delete raw.resultInRecord;
    }
    const event = toEvent(raw);
    if (event && event.seq > afterSeq) events.push(event);
  }
  return events;
}

export function parseEvent(raw: string | undefined): JobEvent | undefined {
  return toEvent(parseJson(raw));
}

function parseJson(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function toEvent(value: Record<string, unknown> | undefined): JobEvent | undefined {
  if (value === undefined) return undefined;
  const parsed = JobEventSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

type Listener = (event: JobEvent) => void;

interface Subscription {
  listeners: Set<Listener>;
  /** Highest sequence number delivered; a jump means a lost message to repair from the stream. */
  lastSeq: number;
  repairing: Promise<void> | undefined;
  pending: JobEvent[];
  /** Whether this subscription SUBSCRIBEd to the job's own channel (a job accepted elsewhere). */
  followsChannel: boolean;
  /** The job's reply channel carries only its end (created with `replyEndsOnly`): a jump to it is no gap. */
  endsOnly: boolean;
}

/**
 * One subscriber connection per process, shared by every job it watches.
 * Jobs this process accepted report on the process's own channel, subscribed
 * once at start, so waiting on a job costs no Redis round trip; jobs accepted
 * elsewhere are followed on their own channel. Either way each job's events
 * are delivered exactly once and in order: a message that skips a sequence
 * number triggers a read of the missing ones from the job's stream, and
 * duplicates are dropped.
 */
export class JobEventHub {
  private readonly subs = new Map<string, Subscription>();
  private stopHearing: () => void = () => {};

  private constructor(
    private readonly subscriber: RedisClient,
    private readonly reader: RedisClient,
    private readonly keys: Keys,
    /** This process's channel; give it as `replyTo` when creating a job. */
    readonly channel: string,
  ) {
    subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    // Messages published while the connection was down are gone from pub/sub, but
    // not from the jobs' streams: after every reconnect, catch every watched job up.
    subscriber.on('ready', () => {
      for (const [jobId, sub] of this.subs) this.repairSoon(jobId, sub);
    });
  }

  static async start(subscriber: RedisClient, reader: RedisClient, keys: Keys, instanceId: string): Promise<JobEventHub> {
    const hub = new JobEventHub(subscriber, reader, keys, keys.apiChannel(instanceId));
    await subscriber.subscribe(hub.channel);
    // Ends finished by workers in this process come straight here (see local-replies).
    hub.stopHearing = hearEndsHere(keys.prefix, hub.channel, {
      deliver: (event) => hub.onEvent(event),
      catchUp: (jobId) => {
        const sub = hub.subs.get(jobId);
        if (sub) hub.repairSoon(jobId, sub);
      },
    });
    return hub;
  }

  /** Stops hearing ends handed over in this process (the subscriber connection is the caller's to close). */
  close(): void {
    this.stopHearing();
  }

  /**
   * Listens to a job this process is about to create with `replyTo: hub.channel`.
   * No Redis call: register it before dispatching and no event is missed. `endsOnly`:
   * the job is created with `replyEndsOnly`, and the listener hears only its end.
   */
  listen(jobId: string, listener: Listener, options: { endsOnly?: boolean } = {}): () => void {
    const fresh = !this.subs.has(jobId);
    const sub = this.subscription(jobId, 0);
    sub.endsOnly = (fresh || sub.endsOnly) && options.endsOnly === true;
    sub.listeners.add(listener);
    return () => this.remove(jobId, sub, listener);
  }

  /**
   * Follows any job, wherever it was accepted: its stored events after
   * `afterSeq` first, then live ones, in order, each once.
   */
  async follow(jobId: string, listener: Listener, afterSeq = 0): Promise<() => void> {
    const sub = this.subscription(jobId, afterSeq);
    sub.listeners.add(listener);
    if (!sub.followsChannel) {
      sub.followsChannel = true;
      await this.subscriber.subscribe(this.keys.jobChannel(jobId));
      // Subscribed, then marked, then the stream read: an event emitted before the mark was not
      // published to the channel, but the read finds it.
      await this.reader.eval(WATCHED, 1, this.keys.jobRecord(jobId));
    }
    await this.repair(jobId, sub);
    return () => this.remove(jobId, sub, listener);
  }

  private subscription(jobId: string, afterSeq: number): Subscription {
    let sub = this.subs.get(jobId);
    if (!sub) {
      sub = { listeners: new Set(), lastSeq: afterSeq, repairing: undefined, pending: [], followsChannel: false, endsOnly: false };
      this.subs.set(jobId, sub);
    }
    return sub;
  }

  private remove(jobId: string, sub: Subscription, listener: Listener): void {
    sub.listeners.delete(listener);
    if (sub.listeners.size > 0 || this.subs.get(jobId) !== sub) return;
    this.subs.delete(jobId);
    if (sub.followsChannel) void this.subscriber.unsubscribe(this.keys.jobChannel(jobId)).catch(() => {});
  }

  private onMessage(message: string): void {
    const event = parseEvent(message);
    if (event) this.onEvent(event);
  }

  private onEvent(event: JobEvent): void {
    const sub = this.subs.get(event.job);
    if (!sub) return;
    if (sub.repairing) {
      sub.pending.push(event);
      return;
    }
    if (event.seq <= sub.lastSeq) return;
    // Its end, with the events before it left in the stream on purpose: nothing to repair. (Once the
    // job is followed, every event comes on its own channel, and a gap is a gap again.)
    if (sub.endsOnly && !sub.followsChannel && isTerminalEvent(event)) return this.deliver(sub, event);
    if (event.seq > sub.lastSeq + 1) {
      sub.pending.push(event);
      this.repairSoon(event.job, sub);
      return;
    }
    this.deliver(sub, event);
  }

  /**
   * Repairs in the background. The read fails while Redis is away; it is
   * tried again (every reconnect also repairs every watched job) for as long
   * as someone still watches the job.
   */
  private repairSoon(jobId: string, sub: Subscription, attempt = 0): void {
    this.repair(jobId, sub).catch(() => {
      if (this.subs.get(jobId) !== sub) return;
      setTimeout(() => this.repairSoon(jobId, sub, attempt + 1), Math.min(100 * 2 ** attempt, 2_000)).unref();
    });
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

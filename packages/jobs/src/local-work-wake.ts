import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/**
 * Waking GPU schedulers when a local hop is queued. Dispatch publishes the
 * hop's model on the local-work channel, for every worker process; when
 * workers run in the dispatching process too (`npm start`, the gateway),
 * they are told at once as well, without waiting for that message's trip
 * through Redis (one round trip off a sync chat's critical path).
 *
 * A message carries a wake-up id and how many hops were queued,
 * `<model>\n<id>\n<hops>`: the id so a process woken directly does not wake
 * again for the same hops when the message arrives (each wake-up costs a GPU
 * scheduler a fetch, which would find the queue empty); the count because a
 * scheduler takes a queue as empty once it has taken the hops announced to it
 * (see QueueHints), and one batch of hops is announced once. Listeners are
 * per channel, so processes with several prefixes (tests) keep them apart.
 *
 * While the last message reached no process but this one (the gateway, npm
 * start, alone), none is published for ALONE_RECHECK_MS: a worker process
 * started meanwhile finds the work at its idle poll (200 ms) instead.
 */
/** `hops` undefined: a message from an earlier version, which did not say how many. */
type Listener = (model: string, hops: number | undefined) => void;

const listeners = new Map<string, Set<Listener>>();
/** Wake-ups delivered directly whose message has not come back yet (bounded: a message lost in a reconnect never comes). */
const delivered = new Set<string>();
const MAX_PENDING = 10_000;
const PROCESS_TAG = Math.random().toString(36).slice(2, 10);
let counter = 0;
/** How long, after a message reached only this process, until the next one is published to look again. */
export const ALONE_RECHECK_MS = 1_000;
/** Per channel: until when no other process was listening, as the last message found. */
const aloneUntil = new Map<string, number>();

/**
 * Tells every GPU scheduler that `hops` hops of `model` are queued: this process's
 * at once, every other process's through Redis (unless none listened last
 * time, see above). Not skipped on a Redis Cluster, whose PUBLISH counts
 * only the subscribers of the node it ran on.
 */
export async function announceLocalWork(redis: RedisClient, channel: string, model: string, hops: number, now = Date.now()): Promise<void> {
  if ((aloneUntil.get(channel) ?? 0) > now) {
    wakeHere(channel, model, hops);
    return;
  }
  const here = listeners.get(channel)?.size ?? 0;
  const receivers = await redis.publish(channel, wakeForLocalWork(channel, model, hops));
  // Each listener here is one subscription of this process's (see LocalWorkSignal).
  if (receivers <= here && !(redis instanceof Cluster)) aloneUntil.set(channel, now + ALONE_RECHECK_MS);
  else aloneUntil.delete(channel);
}

function wakeHere(channel: string, model: string, hops: number | undefined): void {
  for (const listener of listeners.get(channel) ?? []) listener(model, hops);
}

/** The message to publish for `hops` hops of `model` queued now; this process's listeners are woken at once. */
export function wakeForLocalWork(channel: string, model: string, hops = 1): string {
  const id = `${PROCESS_TAG}.${counter++}`;
  const here = listeners.get(channel);
  if (here && here.size > 0) {
    if (delivered.size >= MAX_PENDING) delivered.clear();
    delivered.add(id);
    wakeHere(channel, model, hops);
  }
  return `${model}\n${id}\n${hops}`;
}

/**
 * Listens for local work on `channel`: woken directly by dispatch in this
 * process, and by `onMessage` for what arrives over Redis (a message already
 * delivered directly is skipped). Returns the handler for the channel's messages
 * and the way to stop listening.
 */
export function listenForLocalWork(channel: string, listener: Listener): { onMessage(message: string): void; close(): void } {
  const set = listeners.get(channel) ?? new Set<Listener>();
  listeners.set(channel, set);
  set.add(listener);
  return {
    onMessage(message) {
      // Earlier versions' dispatch sent `<model>` alone, then `<model>\n<id>`.
      const [model = '', id, hops] = message.split('\n');
      if (id !== undefined && delivered.delete(id)) return;
      const count = Number(hops);
      listener(model, Number.isSafeInteger(count) && count > 0 ? count : undefined);
    },
    close() {
      set.delete(listener);
      if (set.size === 0) listeners.delete(channel);
    },
  };
}

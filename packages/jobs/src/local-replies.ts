import type { JobEvent } from './events.js';

/*
 * Handing a job's end to the API process waiting for it when that process
 * is this one (the gateway, `npm start`: API and workers in one process).
 * The finishing script still writes the record and the job's stream, and
 * still publishes to anyone following the job; only the message to the
 * accepting API's own channel is left out, and the event is given to its
 * hub here instead, once Redis has taken the end. That message cost Redis a
 * PUBLISH and the API a read, a parse and a check of what it had just
 * written (for 16 embeddings, ~65 KB each way).
 *
 * Only for jobs whose channel carries their end alone (`replyEndsOnly`): no
 * other event of theirs can come after, or be overtaken, through Redis.
 */
/** A hub here: what it is handed, and how it reads a job's end from Redis itself. */
export interface EndsHeardHere {
  deliver(event: JobEvent): void;
  /** Reads the job's stored events (its stream), for an end handed over that never arrived. */
  catchUp(jobId: string): void;
}

/** The hubs in this process, by key prefix, then channel. */
const hubs = new Map<string, Map<string, EndsHeardHere>>();

/** Hears ends handed over here for `channel` (a hub's own); returns the way to stop. */
export function hearEndsHere(prefix: string, channel: string, hub: EndsHeardHere): () => void {
  const channels = hubs.get(prefix) ?? new Map<string, EndsHeardHere>();
  hubs.set(prefix, channels);
  channels.set(channel, hub);
  return () => {
    if (channels.get(channel) !== hub) return;
    channels.delete(channel);
    if (channels.size === 0) hubs.delete(prefix);
  };
}

/** The channel of the one hub under `prefix` in this process; '' when there is none, or several (each finish names one). */
export function endsHeardHere(prefix: string): string {
  const channels = hubs.get(prefix);
  if (!channels || channels.size !== 1) return '';
  return channels.keys().next().value ?? '';
}

/** Gives `event` to the hub of `channel` here; nobody hears it if that hub has gone meanwhile (the process is closing). */
export function handEndHere(prefix: string, channel: string, event: JobEvent): void {
  hubs.get(prefix)?.get(channel)?.deliver(event);
}

/**
 * A finish named `channel` but did not finish the job now: it was finished
 * already, perhaps by this very finish, run again after its answer was lost
 * with a connection (ioredis sends it again) — an end handed over that then
 * never came. The hub reads what the job's stream holds, if it still waits.
 */
export function catchUpHere(prefix: string, channel: string, jobId: string): void {
  hubs.get(prefix)?.get(channel)?.catchUp(jobId);
}

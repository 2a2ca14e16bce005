import type { JobEvent } from './events.js';

/**
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
type Deliver = (event: JobEvent) => void;

/** The hubs in this process, by key prefix, then channel. */
const hubs = new Map<string, Map<string, Deliver>>();

/** Hears ends handed over here for `channel` (a hub's own); returns the way to stop. */
export function hearEndsHere(prefix: string, channel: string, deliver: Deliver): () => void {
  const channels = hubs.get(prefix) ?? new Map<string, Deliver>();
  hubs.set(prefix, channels);
  channels.set(channel, deliver);
  return () => {
    if (channels.get(channel) !== deliver) return;
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

/** Gives `event` to the hub of `channel` here; false if it has gone meanwhile (the process is closing). */
export function handEndHere(prefix: string, channel: string, event: JobEvent): boolean {
  const deliver = hubs.get(prefix)?.get(channel);
  if (!deliver) return false;
  deliver(event);
  return true;
}

import type { Target } from '@mana/aliases';
import type { SerializedError } from '@mana/errors';

/** What routing needs to know of a job: where it is in its chain and how long it may wait. */
export interface JobView {
  chain: readonly Target[];
  /** The hop the event is about (its target is `chain[hop]`). */
  hop: number;
  /** How long the job may wait for a GPU before it moves on; null never moves for waiting alone. */
  maxWaitMs: number | null;
  /** A pinned job (its batch named one model) is tried again on its one target until then. */
  retryUntil?: number | undefined;
  /** Tries of this hop so far beyond the first. */
  attempt?: number | undefined;
  /** This hop continues an answer an earlier hop began streaming: how many characters of it the client holds. */
  continues?: number | undefined;
}

export interface RoutingPolicy {
  /** AUTO_FALLBACK_ENABLED: without it a job never leaves its first target. */
  autoFallback: boolean;
  /**
   * A cloud hop answered with a 5xx is tried once more on the same target
   * after this long before it moves on (most 5xx are momentary); 0 or unset: never.
   */
  transientRetryMs?: number | undefined;
}

/** What dispatch knows about a hop's target right now (from shared state: no provider is called). */
export type TargetState =
  | { state: 'ready' }
  /** A local target: the estimated wait for a slot on a server that has the model. */
  | { state: 'backlogged'; waitMs: number }
  /** Down, breaker open, no key, every server drained: may come back. */
  | { state: 'unavailable'; reason: string }
  /** No GPU server has the model: it will never run there until one pulls it. */
  | { state: 'missing'; reason: string }
  /** The target cannot take this request (its prompt is estimated longer than the model's context). */
  | { state: 'unfit'; reason: string };

/** What happened to the job, as the worker, spill loop, batch pass or API reports it. */
export type RoutingEvent =
  /** The hop is about to be queued (a new job, or the job arrived at this hop). */
  | { type: 'dispatch'; target: TargetState }
  /**
   * The provider failed the hop (or its workers kept dying under it: stalled
   * out). `jitter` (0 ≤ j < 1, default 0.5) spreads backoffs so that jobs
   * throttled together do not come back together.
   */
  | {
      type: 'hop-failed';
      error: SerializedError;
      now: number;
      jitter?: number;
      /** The hop had streamed part of its answer to readers: trying the same target again would start it over. */
      streamed?: boolean;
    }
  /** A waiting local hop passed its tolerance, or its batch would miss its completion window. */
  | { type: 'waited-too-long'; because: string }
  /** A waiting local hop has no usable server with its model any more (down, drained, model gone). */
  | { type: 'no-usable-gpu'; because: string };

export type MoveReason = 'failover' | 'overflow';

/** The one next step for the job. */
export type Decision =
  /** Queue the hop on its target. */
  | { action: 'queue' }
  /** Close this hop with `status` and queue the next target (which is dispatched in turn). */
  | { action: 'move-on'; status: 'failed' | 'skipped' | 'spilled'; reason: MoveReason; error: SerializedError }
  /** Try the same target again after `delayMs` (a pinned job). */
  | { action: 'retry'; delayMs: number; attempt: number; error: SerializedError }
  /** Fail the job; `exhausted` lists every hop's error (the last hop of a chain that moved). */
  | { action: 'fail'; error: SerializedError; exhausted: boolean }
  /** Leave the hop where it is. */
  | { action: 'stay' };

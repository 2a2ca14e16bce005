import type { Kind, Target } from '@mana/aliases';
import type { SerializedError } from '@mana/errors';
import type { Priority } from './payloads.js';
import type { JobCost } from './job-cost.js';

/** The shapes of a job record and of the changes made to it (see JobRecords). */

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export type HopReason = 'first' | 'failover' | 'overflow';
export type HopStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'spilled' | 'cancelled';

/** One attempt of a job on one target. */
export interface HopRecord {
  hop: number;
  target: string;
  reason: HopReason;
  status: HopStatus;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Which endpoint ran it (e.g. `ollama:gpu0`). */
  endpoint?: string;
  error?: SerializedError;
  /** Tries after the first, on the same target (pinned jobs), and when the next is due. */
  retries?: number;
  retryAt?: number;
  /** This hop continues an answer an earlier hop began: the first `continues` characters came from there. */
  continues?: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** The client-facing state of a job, stable across hops. */
export interface JobRecord {
  id: string;
  kind: Kind;
  status: JobStatus;
  priority: Priority;
  maxWaitMs: number | null;
  requested: string;
  alias: string | null;
  chain: string[];
  hop: number;
  hops: HopRecord[];
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  result?: unknown;
  usage?: Usage;
  /** What it cost, once it succeeded (see JobCost). */
  cost?: JobCost;
  error?: SerializedError;
  model?: string;
  provider?: string;
  tenant?: string;
  metadata?: Record<string, string>;
  batch?: { id: string; customId: string };
}

export interface NewJob {
  id: string;
  kind: Kind;
  priority: Priority;
  maxWaitMs: number | null;
  requested: string;
  alias: string | null;
  chain: readonly Target[];
  tenant?: string | undefined;
  /** It was admitted under its tenant's limit on unfinished jobs, and leaves the tenant's set when it finishes. */
  countedInTenantLimit?: boolean | undefined;
  metadata?: Record<string, string> | undefined;
  /** The accepting API process's event channel, when it waits for the answer. */
  replyTo?: string | undefined;
  /** It waits for the answer whole: only the job's end (done, error, cancelled) goes to `replyTo`; every event still goes to the stream. */
  replyEndsOnly?: boolean | undefined;
  /** The batch this job is an item of, and the item's custom_id. */
  batch?: { id: string; customId: string } | undefined;
}

/** A job that has just finished, as its finishing script saw it. */
export interface FinishedJob {
  /** The batch it is an item of, and its tenant ('' for none): whom to account it to. */
  batch: string;
  tenant: string;
  kind: string;
  alias: string;
  /** The provider of the hop it finished on (ran or failed there). */
  provider: string;
  outcome: string;
  createdAt: number;
  /** When that last hop started running; undefined if it never did (cancelled or failed while waiting). */
  finalHopStartedAt: number | undefined;
  finishedAt: number;
  /** Tokens in and out, when it succeeded. */
  usage?: Usage;
  /** The target of the hop it finished on, `provider/model`. */
  target: string;
  /** What it cost, when it succeeded. */
  cost?: JobCost;
  /** It counts against its tenant's limit on unfinished jobs (see NewJob), until now. */
  countedInTenantLimit: boolean;
}

/**
 * `moved`: the job is on its next hop. `over`: it had finished or moved on
 * already. `held`: a waiting client holds part of the job's streamed answer
 * and the next target was not asked to continue it, so nothing moved.
 */
export type AdvanceOutcome = 'moved' | 'over' | 'held';

export type StartOutcome = 'ok' | 'restart' | 'stale' | 'terminal' | 'gone';

/** Where and when a hop started, for a hop marked running as it finishes (JobRecords.succeed). */
export interface HopStart {
  at: number;
  endpoint: string;
  target: string;
}

/** What a hop that succeeded hands to its job. */
export interface Success {
  result: unknown;
  usage: Usage;
  cost?: JobCost;
  model: string;
  provider: string;
}

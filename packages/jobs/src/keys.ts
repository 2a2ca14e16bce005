import type { ProviderId } from '@mana/config';

/**
 * Every Redis key and channel Mana uses, in one place. Keys of one job share
 * the hash tag `{jobId}` so the scripts that touch a job's record and its
 * event stream run on one Redis Cluster slot, while different jobs spread
 * across slots. Each queue's keys share the tag `{provider}` (BullMQ needs
 * one slot per queue), and different queues land on different slots.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** BullMQ queue name for a provider; BullMQ puts its own keys under `prefix:name:`. */
  queueName(provider: ProviderId): string {
    return `{${provider}}`;
  }

  /**
   * BullMQ queue name for one local model: each model has its own queue, so a
   * GPU server pulls only work it can run. BullMQ forbids `:` in queue names
   * (`gemma3:4b`), and bull-board's URLs mangle `%`, so every character but
   * letters, digits, `.`, `-` and `_` is written `~` and two hex digits:
   * `{local.gemma3~3a4b}`.
   */
  localQueueName(model: string): string {
    return `{local.${[...model].map((c) => (/[A-Za-z0-9._-]/.test(c) ? c : `~${c.codePointAt(0)!.toString(16).padStart(2, '0')}`)).join('')}}`;
  }

  /** Every local model that ever had a queue (its GPU servers pull from these). */
  localModels(): string {
    return `${this.prefix}:local-models`;
  }

  /** The models a GPU server can serve and has loaded, as last probed (kept after it goes down). */
  gpuInventory(gpu: string): string {
    return `${this.prefix}:inventory:gpu:{${gpu}}`;
  }

  /** Held briefly by the one GPU server loading a model no server holds (see HealthCache.claimLoad). */
  loadClaim(model: string): string {
    return `${this.prefix}:load-claim:{${model}}`;
  }

  /** Pub/sub channel that wakes idle GPU schedulers when local work is queued. */
  localWorkChannel(): string {
    return `${this.prefix}:local-work`;
  }

  jobRecord(jobId: string): string {
    return `${this.prefix}:job:{${jobId}}`;
  }

  jobEvents(jobId: string): string {
    return `${this.prefix}:job:{${jobId}}:events`;
  }

  /** Pub/sub channel for one job's live events. */
  jobChannel(jobId: string): string {
    return `${this.prefix}:ev:${jobId}`;
  }

  /** Pub/sub channel of one API process: the events of every job it accepted and waits on. */
  apiChannel(instanceId: string): string {
    return `${this.prefix}:ev:api:${instanceId}`;
  }

  /** Pub/sub channel that tells every worker process to abort a running job. */
  cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** Operator broadcasts to every API process (e.g. "reload aliases and keys"). */
  controlChannel(): string {
    return `${this.prefix}:control`;
  }

  /** Every live API process, with the aliases and keys it has in force (field = instance id). */
  apiProcesses(): string {
    return `${this.prefix}:api-processes`;
  }

  /** Cached result of the last probe of one GPU server. */
  gpuHealth(gpu: string): string {
    return `${this.prefix}:health:gpu:{${gpu}}`;
  }

  /** Held by the one process allowed to probe a GPU server this interval. */
  gpuProbeLock(gpu: string): string {
    return `${this.prefix}:probe:gpu:{${gpu}}`;
  }

  /** Held by the one process whose Worker serves a GPU (the cap holds across replicas). */
  gpuLease(gpu: string): string {
    return `${this.prefix}:lease:gpu:{${gpu}}`;
  }

  /** Jobs a GPU's Worker runs now, refreshed by its holder every tick (for /metrics). */
  gpuBusy(gpu: string): string {
    return `${this.prefix}:busy:gpu:{${gpu}}`;
  }

  /** Set by an operator to drain a GPU: its Worker stops taking jobs. */
  gpuDrain(gpu: string): string {
    return `${this.prefix}:drain:gpu:{${gpu}}`;
  }

  /** A stored file's metadata (hash) and its content (a list of chunks), under one tag. */
  fileMeta(fileId: string): string {
    return `${this.prefix}:file:{${fileTag(fileId)}}:${fileId}`;
  }

  fileData(fileId: string): string {
    return `${this.prefix}:file:{${fileTag(fileId)}}:${fileId}:data`;
  }

  /** A Responses API response's conversation and request echo (for previous_response_id and GET). */
  response(responseId: string): string {
    return `${this.prefix}:response:{${responseId}}`;
  }

  /** A tenant's files by creation time, for GET /v1/files. */
  tenantFiles(tenant: string): string {
    return `${this.prefix}:files:${encodeURIComponent(tenant)}`;
  }

  /** A batch's record; its output and error files share its tag, so one script updates all three. */
  batch(batchId: string): string {
    return `${this.prefix}:batch:{${batchId}}`;
  }

  /** The job ids of a batch's items (for cancelling them), and its custom_ids (to refuse duplicates). */
  batchJobs(batchId: string): string {
    return `${this.prefix}:batch:{${batchId}}:jobs`;
  }

  /** The same items as a set, so an item reported twice (two readers overlapping) is listed and counted once. */
  batchJobsSeen(batchId: string): string {
    return `${this.prefix}:batch:{${batchId}}:seen`;
  }

  /** Held by the one worker process running the batch pass over this batch now. */
  batchPassLock(batchId: string): string {
    return `${this.prefix}:batch:{${batchId}}:pass`;
  }

  /** The items already written to the batch's output or error file (accounting is once per item). */
  batchAccounted(batchId: string): string {
    return `${this.prefix}:batch:{${batchId}}:accounted`;
  }

  batchCustomIds(batchId: string): string {
    return `${this.prefix}:batch:{${batchId}}:custom-ids`;
  }

  /** Tenants' fair-share clocks for one queue and priority class (in the queue's hash slot: the script reads its waiting hops). */
  fairClocks(queueName: string, priority: string): string {
    return `${this.prefix}:fair:${queueName}:${priority}`;
  }

  /** A tenant's unfinished jobs (not batch items), for its limit on jobs queued at once. */
  tenantLive(tenant: string): string {
    return `${this.prefix}:live:{${tenant}}`;
  }

  /** Batches not finished yet, for the completion-window pass (one small set, read a few times a second). */
  activeBatches(): string {
    return `${this.prefix}:batches:active`;
  }

  /** A tenant's batches, newest last (for listing). */
  tenantBatches(tenant: string): string {
    return `${this.prefix}:batches:{${tenant}}`;
  }

  /** Circuit breaker state of a cloud provider. */
  breaker(provider: ProviderId): string {
    return `${this.prefix}:breaker:{${provider}}`;
  }

  /** Waiting local hops by the time they may spill to their next target (member: `model hopJobId`, model URI-encoded). */
  spillIndex(): string {
    return `${this.prefix}:spill`;
  }

  /** Recent local service times by model (hash), for estimating the wait at dispatch. */
  serviceTimes(): string {
    return `${this.prefix}:stats:local:service`;
  }

  /** Measured model load times by model (hash, ms), the cost of making a GPU switch models. */
  loadTimes(): string {
    return `${this.prefix}:stats:local:load`;
  }

  /**
   * Histograms of job wait, run and total time, cluster-wide (see JobStats).
   * In one slot with the token counts: a finished job updates both in one script.
   */
  durationStats(): string {
    return `${this.prefix}:{stats}:durations`;
  }

  /** Tokens by provider and direction, cluster-wide. */
  tokenStats(): string {
    return `${this.prefix}:{stats}:tokens`;
  }

  /** The usage ledger's hour starting at `hourMs`: per tenant, alias and target (see JobStats). In the stats slot. */
  usageHour(hourMs: number): string {
    return `${this.prefix}:{stats}:usage:${hourMs}`;
  }

  /** The usage ledger's all-time totals (for the Prometheus counters). */
  usageTotals(): string {
    return `${this.prefix}:{stats}:usage:total`;
  }

  /** Cloud dollars spent by tenant in one calendar month (UTC, `2026-12`): what budgets are checked against. */
  cloudSpend(month: string): string {
    return `${this.prefix}:{stats}:spend:${month}`;
  }

  /** Tokens by tenant in one minute (minutes since the epoch): what token-per-minute limits are checked against. */
  tenantTokens(minute: number): string {
    return `${this.prefix}:{stats}:tpm:${minute}`;
  }

  /** One minute's requests and tokens by API key of a cloud provider (see KeyRotation). */
  providerKeyUse(provider: string, minute: number): string {
    return `${this.prefix}:pkey:{${provider}}:use:${minute}`;
  }

  /** A cloud provider's rested API keys: key id → until when (ms). */
  providerKeyRests(provider: string): string {
    return `${this.prefix}:pkey:{${provider}}:rest`;
  }

  /** Failed hops by provider and error code, cluster-wide. */
  providerErrorStats(): string {
    return `${this.prefix}:stats:provider-errors`;
  }

  /** Counters of fallbacks by from/to/reason. */
  fallbackCounters(): string {
    return `${this.prefix}:stats:fallbacks`;
  }
}

/** BullMQ's job id for one hop of a job. BullMQ forbids `:` in custom ids, hence `.`. */
export function hopJobId(jobId: string, hop: number): string {
  return `${jobId}.${hop}`;
}

/** A batch's output and error files are tagged with the batch id; any other file with its own id. */
export function fileTag(fileId: string): string {
  return /^file-(batch_[0-9a-f]+)-(?:output|errors)$/.exec(fileId)?.[1] ?? fileId;
}

export function batchFileId(batchId: string, kind: 'output' | 'errors'): string {
  return `file-${batchId}-${kind}`;
}

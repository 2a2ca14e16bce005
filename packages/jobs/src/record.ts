import type { RedisClient } from './redis.js';
import type { Kind, Target } from '@mana/aliases';
import type { SerializedError } from '@mana/errors';
import { ManaError, serializeError, toSerializedError } from '@mana/errors';
import type { Keys } from './keys.js';
import type { Priority } from './payloads.js';
import type { JobCost } from './job-cost.js';
import type { AdvanceOutcome, FinishedJob, HopReason, HopRecord, HopStart, JobRecord, JobStatus, NewJob, StartOutcome, Success, Usage } from './record-types.js';
import { ADVANCE_HOP, CANCEL, CREATE, DELTA, FINISH, RETRY_HOP, START_AND_FINISH, START_HOP } from './record-scripts.js';
import type { JobEvent } from './events.js';
import { catchUpHere, endsHeardHere, handEndHere } from './local-replies.js';

export { JOB_STATUSES } from './record-types.js';
export type { AdvanceOutcome, FinishedJob, HopReason, HopRecord, HopStart, HopStatus, JobRecord, JobStatus, NewJob, StartOutcome, Success, Usage } from './record-types.js';

/** Why a job whose client holds part of a streamed answer fails instead of moving on. */
export function partialAnswerError(target: string, cause: string): SerializedError {
  return serializeError(
    new ManaError('provider_unavailable', `${target} failed after its answer began streaming (${cause}); the partial answer cannot be continued on another target`),
  );
}

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

/** How many fields a finishing script's summary has; the handed-over end's sequence number follows. */
const FINISH_SUMMARY_LENGTH = 13;

/** Live jobs may wait a long time in a batch; they still expire eventually. */
const LIVE_TTL_S = 7 * 24 * 3600;

/**
 * Reads and changes job records. Every change is a Lua script that checks
 * the job's state first, so concurrent actors on one job cannot both win.
 */
export class JobRecords {
  private readonly scripts: Record<'create' | 'startHop' | 'delta' | 'advanceHop' | 'retryHop' | 'finish' | 'startAndFinish' | 'cancel', ScriptFn>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly retentionS: number,
    /** Called once when a job finishes (succeeded, failed or cancelled), by whichever process finished it. */
    private readonly onFinished?: (jobId: string, finished: FinishedJob) => Promise<void>,
  ) {
    const define = (name: string, lua: string): ScriptFn => {
      redis.defineCommand(name, { numberOfKeys: 2, lua });
      const fn = (redis as unknown as Record<string, ScriptFn>)[name];
      if (!fn) throw new Error(`could not define script ${name}`);
      return fn.bind(redis);
    };
    this.scripts = {
      create: define('manaCreateJob', CREATE),
      startHop: define('manaStartHop', START_HOP),
      delta: define('manaDelta', DELTA),
      advanceHop: define('manaAdvanceHop', ADVANCE_HOP),
      retryHop: define('manaRetryHop', RETRY_HOP),
      finish: define('manaFinishJob', FINISH),
      startAndFinish: define('manaStartAndFinishJob', START_AND_FINISH),
      cancel: define('manaCancelJob', CANCEL),
    };
  }

  private jobKeys(id: string): [string, string, string] {
    return [this.keys.jobRecord(id), this.keys.jobEvents(id), this.keys.jobChannel(id)];
  }

  /** Writes a new record (hop 0 queued); false when the id exists already. */
  async create(job: NewJob, now = Date.now()): Promise<boolean> {
    if (!job.chain[0]) throw new Error('a job needs at least one target');
    const fields: Record<string, string> = {
      id: job.id,
      kind: job.kind,
      status: 'queued',
      priority: job.priority,
      maxWaitMs: job.maxWaitMs === null ? '' : String(job.maxWaitMs),
      requested: job.requested,
      alias: job.alias ?? '',
      chain: JSON.stringify(job.chain.map((t) => t.id)),
      hop: '0',
      // No h0 yet: hop 0 queued is implied by chain and createdAt. While every value fits in
      // 64 bytes Redis keeps the hash as a compact listpack: a queued batch item costs about
      // a third of what it would with its hop written out.
      createdAt: String(now),
      ...(job.tenant ? { tenant: job.tenant } : {}),
      ...(job.countedInTenantLimit ? { tl: '1' } : {}),
      ...(job.replyTo ? { reply: job.replyTo } : {}),
      ...(job.replyTo && job.replyEndsOnly ? { re: '1' } : {}),
      ...(job.batch ? { batch: job.batch.id, cid: job.batch.customId } : {}),
      ...(job.metadata ? { metadata: JSON.stringify(job.metadata) } : {}),
    };
    const [record, stream, channel] = this.jobKeys(job.id);
    const created = await this.scripts.create(record, stream, channel, LIVE_TTL_S, ...Object.entries(fields).flat());
    return created === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const raw = await this.redis.hgetall(this.keys.jobRecord(id));
    if (!raw.id) return undefined;
    return toJobRecord(raw);
  }

  async startHop(id: string, hop: number, endpoint: string, target: string, now = Date.now()): Promise<StartOutcome> {
    const [record, stream, channel] = this.jobKeys(id);
    return (await this.scripts.startHop(record, stream, channel, hop, now, endpoint, target)) as StartOutcome;
  }

  /** Publishes a streamed delta; dropped (false) when the hop is no longer the running one. */
  async delta(id: string, hop: number, content: string): Promise<boolean> {
    const [record, stream, channel] = this.jobKeys(id);
    return (await this.scripts.delta(record, stream, channel, hop, JSON.stringify(content))) === 1;
  }

  /** Moves a job from `fromHop` to its next hop; false when it had finished or moved on already. */
  async advanceHop(
    id: string,
    fromHop: number,
    from: { status: 'failed' | 'skipped' | 'spilled'; error?: SerializedError | undefined },
    next: { target: Target; reason: HopReason; continues?: number | undefined },
    now = Date.now(),
  ): Promise<AdvanceOutcome> {
    const nextHop = fromHop + 1;
    const hop: HopRecord = {
      hop: nextHop,
      target: next.target.id,
      reason: next.reason,
      status: 'queued',
      queuedAt: now,
      ...(next.continues !== undefined ? { continues: next.continues } : {}),
    };
    const [record, stream, channel] = this.jobKeys(id);
    const moved = await this.scripts.advanceHop(
      record,
      stream,
      channel,
      fromHop,
      now,
      from.status,
      from.error ? JSON.stringify(from.error) : '',
      nextHop,
      JSON.stringify(hop),
      next.target.id,
      next.reason,
      next.continues ?? '',
    );
    return moved === 1 ? 'moved' : moved === -1 ? 'held' : 'over';
  }

  /** A failed hop will be tried again on the same target (retry `attempt`, due at `retryAt`); false when the job moved on. */
  async retryHop(id: string, hop: number, error: SerializedError, attempt: number, retryAt: number): Promise<boolean> {
    const [record, stream, channel] = this.jobKeys(id);
    return (await this.scripts.retryHop(record, stream, channel, hop, retryAt, JSON.stringify(error), attempt)) === 1;
  }

  /**
   * Finishes the job with the hop's answer; false when it had finished or moved on. `started`: the
   * hop was never marked running (startHop), so it is marked now, in the same step (its `started`
   * event comes first) — false, too, when it could not start (stale, finished or gone).
   */
  async succeed(id: string, hop: number, success: Success, now = Date.now(), started?: HopStart): Promise<boolean> {
    const result = JSON.stringify(success.result);
    const usage = JSON.stringify(success.usage);
    // Built by hand so large results (vectors) are not parsed and re-encoded on the way.
    // The script ends the event with the result (see FINISH): it crosses to Redis once.
    const event = `{"type":"done","hop":${hop},"model":${JSON.stringify(success.model)},"provider":${JSON.stringify(success.provider)},"usage":${usage},"result":`;
    const [record, stream, channel] = this.jobKeys(id);
    // The accepting API may be in this process: then its end is handed to it here (see local-replies).
    const here = endsHeardHere(this.keys.prefix);
    const end = [now, 'succeeded', this.retentionS, event, '', here, 'result', result, 'usage', usage, 'model', success.model, 'provider', success.provider];
    if (success.cost) end.push('cost', JSON.stringify(success.cost));
    const done = started
      ? await this.scripts.startAndFinish(record, stream, channel, hop, started.at, started.endpoint, started.target, ...end)
      : await this.scripts.finish(record, stream, channel, hop, ...end);
    const handedOver = Array.isArray(done) ? Number((done as string[])[FINISH_SUMMARY_LENGTH]) : 0;
    if (here && !Array.isArray(done)) catchUpHere(this.keys.prefix, here, id);
    if (handedOver > 0) {
      const ended: JobEvent = { seq: handedOver, job: id, hop, type: 'done', model: success.model, provider: success.provider, usage: success.usage, result: success.result };
      try {
        handEndHere(this.keys.prefix, here, ended);
      } catch {
        // A listener's fault must not fail a hop that Redis has finished.
      }
    }
    return this.finished(id, done);
  }

  /** Fails the job; `hop` -1 fails whatever hop is current. `hopError` is recorded on that hop. */
  async fail(id: string, hop: number, error: SerializedError, hopError?: SerializedError, now = Date.now()): Promise<boolean> {
    const json = JSON.stringify(error);
    const [record, stream, channel] = this.jobKeys(id);
    const done = await this.scripts.finish(
      record,
      stream,
      channel,
      hop,
      now,
      'failed',
      this.retentionS,
      `{"type":"error","hop":${hop},"error":${json}}`,
      hopError ? JSON.stringify(hopError) : '',
      '',
      'error',
      json,
    );
    return this.finished(id, done);
  }

  /** Cancels a job that has not finished, telling every worker to abort it; false if it had finished. */
  async cancel(id: string, now = Date.now()): Promise<boolean> {
    const [record, stream, channel] = this.jobKeys(id);
    return this.finished(id, await this.scripts.cancel(record, stream, channel, now, this.retentionS, this.keys.cancelChannel(), id));
  }

  /** A finishing script answers 0 (not finished now) or the summary of the job it finished. */
  private async finished(jobId: string, answer: unknown): Promise<boolean> {
    if (!Array.isArray(answer)) return false;
    const [
      batch = '',
      tenant = '',
      kind = '',
      alias = '',
      provider = '',
      outcome = '',
      createdAt = '',
      startedAt = '',
      finishedAt = '',
      usage = '',
      target = '',
      cost = '',
      tl = '',
    ] = answer as string[];
    const number = (v: string) => (v === '' ? undefined : Number(v));
    await this.onFinished?.(jobId, {
      batch,
      tenant,
      kind,
      alias,
      provider,
      outcome,
      createdAt: Number(createdAt),
      finalHopStartedAt: number(startedAt),
      finishedAt: Number(finishedAt),
      ...(usage ? { usage: JSON.parse(usage) as Usage } : {}),
      target,
      ...(cost ? { cost: JSON.parse(cost) as JobCost } : {}),
      countedInTenantLimit: tl === '1',
    });
    return true;
  }
}

function toJobRecord(raw: Record<string, string>): JobRecord {
  const hops: HopRecord[] = [];
  // Hop 0 is written only once it changes (see CREATE); until then it is the chain's first target, queued.
  const chain = JSON.parse(raw.chain ?? '[]') as string[];
  const first: HopRecord = { hop: 0, target: chain[0] ?? '', reason: 'first', status: 'queued', queuedAt: Number(raw.createdAt) };
  hops.push(raw.h0 === undefined ? first : (JSON.parse(raw.h0) as HopRecord));
  for (let i = 1; raw[`h${i}`] !== undefined; i++) hops.push(JSON.parse(raw[`h${i}`] as string) as HopRecord);
  const optionalNumber = (v: string | undefined) => (v ? Number(v) : undefined);
  return {
    id: raw.id as string,
    kind: raw.kind as Kind,
    status: raw.status as JobStatus,
    priority: raw.priority as Priority,
    maxWaitMs: raw.maxWaitMs ? Number(raw.maxWaitMs) : null,
    requested: raw.requested ?? '',
    alias: raw.alias || null,
    chain,
    hop: Number(raw.hop ?? 0),
    hops,
    createdAt: Number(raw.createdAt),
    ...(raw.startedAt ? { startedAt: optionalNumber(raw.startedAt) } : {}),
    ...(raw.finishedAt ? { finishedAt: optionalNumber(raw.finishedAt) } : {}),
    ...(raw.result !== undefined ? { result: JSON.parse(raw.result) as unknown } : {}),
    ...(raw.usage ? { usage: JSON.parse(raw.usage) as Usage } : {}),
    ...(raw.cost ? { cost: JSON.parse(raw.cost) as JobCost } : {}),
    ...(raw.error ? { error: toSerializedError(JSON.parse(raw.error)) } : {}),
    ...(raw.model ? { model: raw.model } : {}),
    ...(raw.provider ? { provider: raw.provider } : {}),
    ...(raw.tenant ? { tenant: raw.tenant } : {}),
    ...(raw.metadata ? { metadata: JSON.parse(raw.metadata) as Record<string, string> } : {}),
    ...(raw.batch ? { batch: { id: raw.batch, customId: raw.cid ?? '' } } : {}),
  };
}

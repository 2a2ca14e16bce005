import { costBody } from './job-cost.js';
import type { RedisClient } from './redis.js';
import { httpStatusOf } from '@mana/errors';
import { type Keys, batchFileId } from './keys.js';
import { chatCompletionBody, embeddingsBody } from './openai-bodies.js';
import type { JobRecord, JobRecords } from './record.js';

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export type BatchStatus = 'validating' | 'in_progress' | 'finalizing' | 'completed' | 'failed' | 'cancelling' | 'cancelled';

export interface BatchRecord {
  id: string;
  tenant: string;
  endpoint: BatchEndpoint;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  createdAt: number;
  inProgressAt?: number;
  completedAt?: number;
  cancellingAt?: number;
  cancelledAt?: number;
  failedAt?: number;
  total: number;
  completed: number;
  failed: number;
  outputFileId: string;
  errorFileId: string;
  metadata: Record<string, string>;
  /** Why the batch failed as a whole (e.g. its input file could not be read). */
  error?: string;
}

/**
 * KEYS: batch, output data, output meta, errors data, errors meta, the set
 * of accounted items (one hash tag). ARGV: kind ('ok' | 'failed' |
 * 'line-error' | 'none'), line, now, retention, where the item ran ('local' |
 * 'cloud' | ''), the item's job id ('' for a line error). Appends the line to
 * the right file, counts it, and completes the batch once every line is
 * accounted for and ingestion is over. An item is accounted once, however
 * often it is reported: the reconciliation pass may report it again.
 */
const ACCOUNT = `
local kind = ARGV[1]
if ARGV[6] ~= '' then
  if redis.call('SADD', KEYS[6], ARGV[6]) == 0 then return redis.call('HGET', KEYS[1], 'status') end
  redis.call('EXPIRE', KEYS[6], ARGV[4])
end
if kind ~= 'none' then redis.call('HSET', KEYS[1], 'lastAccountAt', ARGV[3]) end
-- Where the item ran, for the completion-window pass's measured local rate.
if ARGV[5] == 'local' then redis.call('HINCRBY', KEYS[1], 'localDone', 1)
elseif ARGV[5] == 'cloud' then redis.call('HINCRBY', KEYS[1], 'cloudDone', 1) end
if kind == 'ok' then
  redis.call('RPUSH', KEYS[2], ARGV[2] .. '\\n'); redis.call('HINCRBY', KEYS[3], 'bytes', #ARGV[2] + 1)
  redis.call('HINCRBY', KEYS[1], 'completed', 1)
elseif kind == 'failed' or kind == 'line-error' then
  redis.call('RPUSH', KEYS[4], ARGV[2] .. '\\n'); redis.call('HINCRBY', KEYS[5], 'bytes', #ARGV[2] + 1)
  redis.call('HINCRBY', KEYS[1], 'failed', 1)
  if kind == 'line-error' then redis.call('HINCRBY', KEYS[1], 'total', 1) end
end
redis.call('EXPIRE', KEYS[2], ARGV[4]); redis.call('EXPIRE', KEYS[4], ARGV[4])
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('HGET', KEYS[1], 'ingested') ~= '1' then return status end
local done = tonumber(redis.call('HGET', KEYS[1], 'completed') or 0) + tonumber(redis.call('HGET', KEYS[1], 'failed') or 0)
if done >= tonumber(redis.call('HGET', KEYS[1], 'total') or 0) then
  if status == 'cancelling' then
    redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelledAt', ARGV[3]); return 'cancelled'
  elseif status == 'in_progress' or status == 'validating' then
    redis.call('HSET', KEYS[1], 'status', 'completed', 'completedAt', ARGV[3]); return 'completed'
  end
end
return status
`;

/**
 * KEYS: a batch's custom_id hash (custom_id → the line that claimed it).
 * ARGV: retention, then custom_id and line number pairs. Claims each, in
 * order: 1 if new or already this line's (a reader resuming a file claims
 * again what the one before it claimed), 0 if another line has it.
 */
const CLAIM = `
local claimed = {}
-- A batch begun by an older version keeps its custom_ids in a set: claim them there (a rolling upgrade).
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  for i = 2, #ARGV, 2 do claimed[#claimed + 1] = redis.call('SADD', KEYS[1], ARGV[i]) end
  return claimed
end
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then claimed[#claimed + 1] = 1
  elseif redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then claimed[#claimed + 1] = 1
  else claimed[#claimed + 1] = 0 end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return claimed
`;

/**
 * KEYS: the batch. ARGV: reader, lines queued so far, now. The reader of a
 * batch's input is alive: 1 to go on reading, 0 to stop (the batch is being
 * cancelled, or another process took the reading over from a reader it
 * found quiet).
 */
const HEARTBEAT = `
local owner = redis.call('HGET', KEYS[1], 'ingestOwner')
if owner and owner ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'status') == 'cancelling' then return 0 end
redis.call('HSET', KEYS[1], 'ingestOwner', ARGV[1], 'ingestAt', ARGV[3], 'ingestLines', ARGV[2])
return 1
`;

/**
 * KEYS: the item list, the item set, the batch. ARGV: ttlSeconds, then job
 * ids. Lists and counts each item once, however many readers report it.
 */
const ADD_ITEMS = `
local added = 0
for i = 2, #ARGV do
  if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    added = added + 1
  end
end
if added > 0 then redis.call('HINCRBY', KEYS[3], 'total', added) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
return added
`;

/**
 * KEYS: the batch. ARGV: reader, now, quietMs. Takes over reading a batch's
 * input whose reader has been quiet for quietMs (it died): returns the
 * number of lines already queued (read on from the next), or -1.
 */
const TAKE_OVER = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'validating' and status ~= 'in_progress' then return -1 end
if redis.call('HGET', KEYS[1], 'ingested') == '1' then return -1 end
local quiet = tonumber(redis.call('HGET', KEYS[1], 'ingestAt') or redis.call('HGET', KEYS[1], 'createdAt') or ARGV[2])
if tonumber(ARGV[2]) - quiet < tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], 'ingestOwner', ARGV[1], 'ingestAt', ARGV[2])
return tonumber(redis.call('HGET', KEYS[1], 'ingestLines') or '0')
`;

/**
 * Batches: their records, their items' job ids, and the accounting that
 * turns each finished item into a line of the output or error file.
 */
export class BatchLedger {
  private readonly account: (...args: Array<string | number>) => Promise<string>;
  private readonly claim: (...args: Array<string | number>) => Promise<unknown>;
  private readonly heartbeat: (...args: Array<string | number>) => Promise<unknown>;
  private readonly takeOver: (...args: Array<string | number>) => Promise<unknown>;
  private readonly addItemsOnce: (...args: Array<string | number>) => Promise<unknown>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly retentionS: number,
    private readonly records: () => JobRecords,
  ) {
    redis.defineCommand('manaBatchAccount', { numberOfKeys: 6, lua: ACCOUNT });
    redis.defineCommand('manaBatchClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('manaBatchHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
    redis.defineCommand('manaBatchTakeOver', { numberOfKeys: 1, lua: TAKE_OVER });
    redis.defineCommand('manaBatchAddItems', { numberOfKeys: 3, lua: ADD_ITEMS });
    const scripts = redis as unknown as Record<string, ((...a: Array<string | number>) => Promise<string>) | undefined>;
    if (!scripts.manaBatchAccount || !scripts.manaBatchClaim || !scripts.manaBatchHeartbeat || !scripts.manaBatchTakeOver || !scripts.manaBatchAddItems) {
      throw new Error('could not define the batch scripts');
    }
    this.account = scripts.manaBatchAccount.bind(redis);
    this.claim = scripts.manaBatchClaim.bind(redis) as unknown as (...a: Array<string | number>) => Promise<unknown>;
    this.heartbeat = scripts.manaBatchHeartbeat.bind(redis) as unknown as (...a: Array<string | number>) => Promise<unknown>;
    this.takeOver = scripts.manaBatchTakeOver.bind(redis) as unknown as (...a: Array<string | number>) => Promise<unknown>;
    this.addItemsOnce = scripts.manaBatchAddItems.bind(redis) as unknown as (...a: Array<string | number>) => Promise<unknown>;
  }

  async create(batch: Omit<BatchRecord, 'total' | 'completed' | 'failed' | 'status'>): Promise<void> {
    const key = this.keys.batch(batch.id);
    await this.redis
      .multi()
      .hset(key, {
        id: batch.id,
        tenant: batch.tenant,
        endpoint: batch.endpoint,
        inputFileId: batch.inputFileId,
        completionWindow: batch.completionWindow,
        status: 'validating',
        createdAt: String(batch.createdAt),
        total: '0',
        completed: '0',
        failed: '0',
        outputFileId: batch.outputFileId,
        errorFileId: batch.errorFileId,
        metadata: JSON.stringify(batch.metadata),
      })
      .expire(key, this.retentionS)
      .exec();
    await this.redis.zadd(this.keys.tenantBatches(batch.tenant), batch.createdAt, batch.id);
    await this.redis.zadd(this.keys.activeBatches(), batch.createdAt, batch.id);
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const raw = await this.redis.hgetall(this.keys.batch(id));
    if (!raw.id) return undefined;
    const at = (k: string) => (raw[k] ? Number(raw[k]) : undefined);
    return {
      id: raw.id,
      tenant: raw.tenant ?? '',
      endpoint: raw.endpoint as BatchEndpoint,
      inputFileId: raw.inputFileId ?? '',
      completionWindow: raw.completionWindow ?? '24h',
      status: raw.status as BatchStatus,
      createdAt: Number(raw.createdAt),
      ...definedTimes({
        inProgressAt: at('inProgressAt'),
        completedAt: at('completedAt'),
        cancellingAt: at('cancellingAt'),
        cancelledAt: at('cancelledAt'),
        failedAt: at('failedAt'),
      }),
      total: Number(raw.total ?? 0),
      completed: Number(raw.completed ?? 0),
      failed: Number(raw.failed ?? 0),
      outputFileId: raw.outputFileId ?? '',
      errorFileId: raw.errorFileId ?? '',
      metadata: JSON.parse(raw.metadata ?? '{}') as Record<string, string>,
      ...(raw.error ? { error: raw.error } : {}),
    };
  }

  /** Batches not finished yet (at most 500), for their progress in /metrics. */
  async unfinished(): Promise<BatchRecord[]> {
    const ids = await this.redis.zrange(this.keys.activeBatches(), 0, 499);
    const batches = await Promise.all(ids.map((id) => this.get(id)));
    return batches.filter((b): b is BatchRecord => b !== undefined && !['completed', 'failed', 'cancelled'].includes(b.status));
  }

  async list(tenant: string, limit: number): Promise<BatchRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.tenantBatches(tenant), 0, limit - 1);
    const batches = await Promise.all(ids.map((id) => this.get(id)));
    return batches.filter((b): b is BatchRecord => b !== undefined);
  }

  /** For each line's custom_id in order: false when another line of this batch (or earlier in the list) has it. */
  async claimCustomIds(batchId: string, claims: ReadonlyArray<{ customId: string; line: number }>): Promise<boolean[]> {
    if (claims.length === 0) return [];
    const added = (await this.claim(this.keys.batchCustomIds(batchId), this.retentionS, ...claims.flatMap((c) => [c.customId, c.line]))) as number[];
    return added.map((n) => n === 1);
  }

  /** Lists a batch's new items and counts them into its total; an item listed already is not listed or counted again. */
  async addItems(batchId: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.addItemsOnce(this.keys.batchJobs(batchId), this.keys.batchJobsSeen(batchId), this.keys.batch(batchId), this.retentionS, ...jobIds);
  }

  itemJobs(batchId: string): Promise<string[]> {
    return this.redis.lrange(this.keys.batchJobs(batchId), 0, -1);
  }

  /**
   * A line that never became a job: it goes to the error file with its line
   * number, once however often it is reported (a resumed reader may report
   * again a line the one before it reported).
   */
  async lineError(batchId: string, line: number, customId: string | null, message: string): Promise<void> {
    const body = { id: null, custom_id: customId, response: null, error: { code: 'invalid_request', message: `line ${line}: ${message}`, line } };
    await this.run(batchId, 'line-error', JSON.stringify(body), '', `line:${line}`);
  }

  /**
   * The reader `reader` of a batch's input file is alive and has queued its
   * first `lines` lines. False when it must stop reading: the batch is being
   * cancelled, or another process took the reading over (see takeOverIngest).
   */
  async ingestHeartbeat(batchId: string, reader: string, lines: number): Promise<boolean> {
    return (await this.heartbeat(this.keys.batch(batchId), reader, lines, Date.now())) === 1;
  }

  /**
   * Takes over reading a batch's input whose reader went quiet for `quietMs`
   * (its process died): the number of lines it had queued, to read on from
   * the next one; undefined when the batch needs no new reader.
   */
  async takeOverIngest(batchId: string, reader: string, quietMs: number): Promise<number | undefined> {
    const queued = Number(await this.takeOver(this.keys.batch(batchId), reader, Date.now(), quietMs));
    return queued >= 0 ? queued : undefined;
  }

  /**
   * Reading a batch's input cannot go on (its file is gone): what was queued
   * runs; one line in the error file says where reading stopped and why, and
   * the batch completes once its items are done.
   */
  async abandonIngest(batchId: string, linesRead: number, why: string): Promise<void> {
    const message = `reading the input file stopped after line ${linesRead}: ${why}`;
    await this.run(
      batchId,
      'line-error',
      JSON.stringify({ id: null, custom_id: null, response: null, error: { code: 'ingest_interrupted', message, line: linesRead + 1 } }),
      '',
      'abandoned',
    );
    await this.ingested(batchId);
  }

  /** Every line has been read; the batch completes once its items are all accounted for. */
  async ingested(batchId: string): Promise<void> {
    const key = this.keys.batch(batchId);
    const status = await this.redis.hget(key, 'status');
    if (status === 'validating') await this.redis.hset(key, 'status', 'in_progress', 'inProgressAt', String(Date.now()));
    await this.redis.hset(key, 'ingested', '1');
    await this.run(batchId, 'none', '');
  }

  async setStatus(batchId: string, status: BatchStatus, extra: Record<string, string> = {}): Promise<void> {
    await this.redis.hset(this.keys.batch(batchId), { status, ...extra });
  }

  /** A batch item finished: its answer (or error) becomes one line, keyed by custom_id. */
  async itemFinished(batchId: string, jobId: string): Promise<void> {
    const record = await this.records().get(jobId);
    if (!record?.batch || !['succeeded', 'failed', 'cancelled'].includes(record.status)) return;
    const ok = record.status === 'succeeded';
    const ran = record.provider === 'ollama' ? 'local' : record.provider ? 'cloud' : '';
    await this.run(batchId, ok ? 'ok' : 'failed', JSON.stringify(outputLine(record)), ran, jobId);
  }

  /** `jobId` (or a line's key) makes the accounting once-only: '' only for the 'none' check. */
  private run(batchId: string, kind: string, line: string, ran = '', jobId = ''): Promise<string> {
    const out = batchFileId(batchId, 'output');
    const errors = batchFileId(batchId, 'errors');
    return this.account(
      this.keys.batch(batchId),
      this.keys.fileData(out),
      this.keys.fileMeta(out),
      this.keys.fileData(errors),
      this.keys.fileMeta(errors),
      this.keys.batchAccounted(batchId),
      kind,
      line,
      Date.now(),
      this.retentionS,
      ran,
      jobId,
    );
  }
}

/** One line of a batch's output or error file, as OpenAI's Batch API writes it. */
function outputLine(record: JobRecord) {
  const base = { id: `batch_req_${record.id}`, custom_id: record.batch?.customId ?? null };
  if (record.status === 'succeeded' && record.model && record.provider && record.usage) {
    const done = { type: 'done' as const, seq: 0, job: record.id, hop: record.hop, model: record.model, provider: record.provider, usage: record.usage, result: record.result };
    const body = record.kind === 'chat' ? chatCompletionBody(record.id, done, Math.floor((record.finishedAt ?? record.createdAt) / 1000)) : embeddingsBody(done, 'float');
    // `cost` is Mana's own (OpenAI's lines have none): what the item cost, or the GPU time it took and the cloud cost it avoided.
    return { ...base, response: { status_code: 200, request_id: record.id, body }, error: null, cost: costBody(record.cost) };
  }
  const error = record.error ?? { code: 'cancelled' as const, message: 'the batch was cancelled' };
  return { ...base, response: { status_code: httpStatusOf(error.code), request_id: record.id, body: { error: { code: error.code, message: error.message } } }, error: null };
}

function definedTimes(times: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(times).filter((e): e is [string, number] => e[1] !== undefined));
}

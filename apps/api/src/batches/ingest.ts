import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type BatchRecord, lines, parseCompletionWindow } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';
import { ChatCompletionRequestSchema, EmbeddingRequestSchema } from '../openai/schemas.js';
import { toChatWork, toEmbeddingWork } from '../openai/translate.js';
import { type Submission, submitMany } from '../submit.js';

const LineSchema = z.object({
  custom_id: z.string().min(1, { error: 'custom_id is required' }).max(512),
  method: z.literal('POST', { error: 'method must be POST' }),
  url: z.string(),
  body: z.record(z.string(), z.unknown()),
});

/**
 * Lines turned into jobs together: one round of Redis writes (records, one
 * addBulk, the batch's item list) per chunk. Four chunks are in flight, so
 * the next are parsed while earlier ones are written; memory stays bounded
 * whatever the file's size.
 */
const CHUNK_LINES = 500;
const CHUNKS_IN_FLIGHT = 4;
/** How often the reader says it is alive (and learns whether to stop); far below MANA_BATCH_RECONCILE_MS. */
const HEARTBEAT_MS = 1_000;

/** A batch line longer than this goes to the error file (it may carry inline images: generous). */
export const MAX_BATCH_LINE_CHARS = 32 * 1024 * 1024;

interface Line {
  number: number;
  text: string;
  tooLong?: true;
}

export interface IngestOptions {
  /** Names this reader in the batch's heartbeat, so a reader taken over knows to stop. */
  reader: string;
  /** Lines the reader before this one queued (it died): reading goes on from the next. @defaultValue 0 */
  resumeAfter?: number;
}

/** A batch item's job id comes from its line, so a line read twice is still one job. */
export function batchItemJobId(batchId: string, line: number): string {
  return `${batchId}_l${line}`;
}

/**
 * Reads a batch's input file line by line and makes each valid line a job
 * at batch priority. A bad line (not JSON, wrong shape, wrong endpoint,
 * duplicate custom_id, unknown model) goes to the error file with its line
 * number and the rest of the batch runs. Stops early if the batch is
 * cancelled meanwhile, or if another process took the reading over.
 *
 * Every step is keyed by line number (job ids, custom_id claims, error
 * lines, the item list), so a reader resuming after one that died
 * mid-chunk queues each line exactly once.
 */
export async function ingestBatch(deps: ApiDeps, batch: BatchRecord, options: IngestOptions): Promise<void> {
  const { batches, files } = deps.pipeline;
  const { reader, resumeAfter = 0 } = options;
  if (!(await files.get(batch.inputFileId))) {
    await batches.abandonIngest(batch.id, resumeAfter, `the input file ${batch.inputFileId} is gone (expired or deleted)`);
    return;
  }
  // Items the reader before this one listed already; empty for a new batch.
  const listed = new Set(resumeAfter > 0 || batch.total > 0 ? await batches.itemJobs(batch.id) : []);
  const running = new Set<Promise<void>>();
  let chunk: Line[] = [];
  // Chunks in reading order: every line up to the last one of the leading done chunks is
  // queued (or in the error file), which is what a heartbeat reports.
  const order: Array<{ lastLine: number; done: boolean }> = [];
  let doneThrough = 0;
  const flush = async () => {
    const entry = { lastLine: chunk.at(-1)!.number, done: false };
    order.push(entry);
    const task = ingestChunk(deps, batch, chunk, listed).finally(() => {
      running.delete(task);
      entry.done = true;
      while (order[0]?.done) doneThrough = order.shift()!.lastLine;
    });
    running.add(task);
    chunk = [];
    if (running.size >= CHUNKS_IN_FLIGHT) await Promise.race(running);
  };
  // A heartbeat before reading, so nobody mistakes a slow first chunk for a dead reader.
  doneThrough = resumeAfter;
  if (!(await batches.ingestHeartbeat(batch.id, reader, doneThrough))) return;
  // Then on a timer, whatever the chunks are doing: a reader is taken over only when its
  // process is gone (or stuck), never because a chunk took longer than the quiet interval.
  let lost = false;
  const beatEvery = Math.min(HEARTBEAT_MS, Math.floor(deps.config.batchReaderQuietMs / 4));
  const beat = setInterval(() => {
    batches.ingestHeartbeat(batch.id, reader, doneThrough).then(
      (held) => void (lost ||= !held),
      () => {}, // Redis away for a moment: the next beat tries again
    );
  }, beatEvery);
  beat.unref();
  try {
    for await (const line of lines(files.read(batch.inputFileId), MAX_BATCH_LINE_CHARS)) {
      if (line.number <= resumeAfter) continue;
      if (!line.tooLong && line.text.trim() === '') continue;
      chunk.push(line);
      if (chunk.length < CHUNK_LINES) continue;
      await flush();
      // Stop when cancelled, or when another reader took over (this one was stuck).
      if (lost) {
        await Promise.all(running);
        return;
      }
    }
    if (chunk.length > 0) await flush();
    await Promise.all(running);
  } finally {
    clearInterval(beat);
  }
  // The last word goes to the reader that still holds the batch.
  if (await batches.ingestHeartbeat(batch.id, reader, doneThrough)) await batches.ingested(batch.id);
}

/** A name of its own for each reading of a batch (not just its process), so a reader taken over, even by its own process, knows to stop. */
export function newReaderId(instanceId: string): string {
  return `${instanceId}/${randomUUID().slice(0, 8)}`;
}

type Parsed = { number: number; customId: string | null; error: string } | { number: number; customId: string; submission: Submission };

async function ingestChunk(deps: ApiDeps, batch: BatchRecord, chunk: readonly Line[], listed: ReadonlySet<string>): Promise<void> {
  const { batches } = deps.pipeline;
  const parsed = chunk.map((line) => parseLine(batch, line));
  const valid = parsed.filter((p) => 'submission' in p);
  const claimed = await batches.claimCustomIds(
    batch.id,
    valid.map((p) => ({ customId: p.customId, line: p.number })),
  );
  const fresh = valid.filter((_, i) => claimed[i]);
  const results = await submitMany(
    deps,
    fresh.map((p) => p.submission),
  );
  const accepted: string[] = [];
  const errors: Array<{ number: number; customId: string | null; message: string }> = [];
  for (const p of parsed) if ('error' in p) errors.push({ number: p.number, customId: p.customId, message: p.error });
  valid.forEach((p, i) => {
    if (!claimed[i]) errors.push({ number: p.number, customId: p.customId, message: `duplicate custom_id ${p.customId}` });
  });
  results.forEach((result, i) => {
    const p = fresh[i]!;
    if ('id' in result) {
      if (!listed.has(result.id)) accepted.push(result.id);
    } else errors.push({ number: p.number, customId: p.customId, message: result.error instanceof Error ? result.error.message : String(result.error) });
  });
  await batches.addItems(batch.id, accepted);
  await Promise.all(errors.map((e) => batches.lineError(batch.id, e.number, e.customId, e.message)));
}

function parseLine(batch: BatchRecord, { number, text, tooLong }: Line): Parsed {
  if (tooLong) return { number, customId: null, error: `longer than ${MAX_BATCH_LINE_CHARS} characters` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { number, customId: null, error: 'not valid JSON' };
  }
  const line = LineSchema.safeParse(raw);
  const customId = typeof (raw as { custom_id?: unknown })?.custom_id === 'string' ? (raw as { custom_id: string }).custom_id : null;
  if (!line.success) return { number, customId, error: issueText(line.error) };
  if (line.data.url !== batch.endpoint) return { number, customId, error: `url must be ${batch.endpoint} (the batch's endpoint), got ${line.data.url}` };
  const work = toWork(batch, line.data.body);
  if (typeof work === 'string') return { number, customId, error: work };
  const pinned = batch.endpoint === '/v1/embeddings' && batch.metadata.mana_mixed_models !== 'true';
  return {
    number,
    customId: line.data.custom_id,
    submission: {
      id: batchItemJobId(batch.id, number),
      work: work.work,
      model: work.model,
      priority: 'batch',
      tenant: batch.tenant,
      batch: { id: batch.id, customId: line.data.custom_id },
      // Vectors from different models live in different spaces: an embedding batch stays on one
      // model (waiting while it is down, retrying it within the completion window) unless it opts
      // into mixing with metadata mana_mixed_models.
      pinned,
      retryUntil: batch.createdAt + (parseCompletionWindow(batch.completionWindow) ?? 86_400_000),
    },
  };
}

function toWork(batch: BatchRecord, body: Record<string, unknown>) {
  try {
    if (batch.endpoint === '/v1/chat/completions') {
      const parsed = ChatCompletionRequestSchema.safeParse(body);
      if (!parsed.success) return `body.${issueText(parsed.error)}`;
      return { work: { ...toChatWork(parsed.data), stream: false }, model: parsed.data.model };
    }
    const parsed = EmbeddingRequestSchema.safeParse(body);
    if (!parsed.success) return `body.${issueText(parsed.error)}`;
    return { work: toEmbeddingWork(parsed.data), model: parsed.data.model };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}`;
}

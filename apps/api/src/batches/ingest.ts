import { z } from 'zod';
import { type BatchRecord, lines } from '@mana/jobs';
import type { ApiDeps } from '../deps.js';
import { ChatCompletionRequestSchema, EmbeddingRequestSchema } from '../openai/schemas.js';
import { toChatWork, toEmbeddingWork } from '../openai/translate.js';
import { submitJob } from '../submit.js';

const LineSchema = z.object({
  custom_id: z.string().min(1, { error: 'custom_id is required' }).max(512),
  method: z.literal('POST', { error: 'method must be POST' }),
  url: z.string(),
  body: z.record(z.string(), z.unknown()),
});

/** Lines turned into jobs at once: enough to keep Redis busy, few enough to bound memory. */
const IN_FLIGHT = 32;

/**
 * Reads a batch's input file line by line and makes each valid line a job
 * at batch priority. A bad line (not JSON, wrong shape, wrong endpoint,
 * duplicate custom_id) goes to the error file with its line number and the
 * rest of the batch runs. Stops early if the batch is cancelled meanwhile.
 */
export async function ingestBatch(deps: ApiDeps, batch: BatchRecord): Promise<void> {
  const { batches, files } = deps.pipeline;
  const running = new Set<Promise<void>>();
  for await (const { number, text } of lines(files.read(batch.inputFileId))) {
    if (text.trim() === '') continue;
    if (number % 500 === 0 && (await batches.get(batch.id))?.status === 'cancelling') break;
    const task = ingestLine(deps, batch, number, text).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= IN_FLIGHT) await Promise.race(running);
  }
  await Promise.all(running);
  await batches.ingested(batch.id);
}

async function ingestLine(deps: ApiDeps, batch: BatchRecord, number: number, text: string): Promise<void> {
  const { batches } = deps.pipeline;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return batches.lineError(batch.id, number, null, 'not valid JSON');
  }
  const line = LineSchema.safeParse(raw);
  const customId = typeof (raw as { custom_id?: unknown })?.custom_id === 'string' ? (raw as { custom_id: string }).custom_id : null;
  if (!line.success) return batches.lineError(batch.id, number, customId, issueText(line.error));
  if (line.data.url !== batch.endpoint) return batches.lineError(batch.id, number, customId, `url must be ${batch.endpoint} (the batch's endpoint), got ${line.data.url}`);
  const work = toWork(batch, line.data.body);
  if (typeof work === 'string') return batches.lineError(batch.id, number, customId, work);
  if (!(await batches.claimCustomId(batch.id, line.data.custom_id))) {
    return batches.lineError(batch.id, number, customId, `duplicate custom_id ${line.data.custom_id}`);
  }
  try {
    const accepted = await submitJob(deps, {
      work: work.work,
      model: work.model,
      priority: 'batch',
      tenant: batch.tenant,
      batch: { id: batch.id, customId: line.data.custom_id },
      // Vectors from different models live in different spaces: an embedding batch stays on one
      // model (waiting while it is down) unless it opts into mixing with metadata mana_mixed_models.
      pinned: batch.endpoint === '/v1/embeddings' && batch.metadata.mana_mixed_models !== 'true',
    });
    await batches.addItem(batch.id, accepted.id);
  } catch (err) {
    await batches.lineError(batch.id, number, customId, err instanceof Error ? err.message : String(err));
  }
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

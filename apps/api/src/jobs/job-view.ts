import { ASSUMED_SERVICE_MS, costBody, type JobRecord, type Pipeline, holdersOf, hopJobId } from '@mana/jobs';
import { isLocalProvider } from '@mana/config';
import { parseTarget } from '@mana/aliases';
import { chatCompletionBody, embeddingsBody } from '../openai/responses.js';

/** How a job looks over the native API: state, place in line, hops, and the answer in OpenAI's shape. */
export async function jobView(p: Pipeline, record: JobRecord, baseUrl: string) {
  const estimate = await queueEstimate(p, record);
  return {
    id: record.id,
    object: 'job',
    type: record.kind,
    status: record.status,
    model: record.requested,
    alias: record.alias,
    priority: record.priority,
    max_wait_ms: record.maxWaitMs,
    position: estimate?.position ?? null,
    estimated_start_ms: estimate?.startMs ?? null,
    hops: record.hops.map((h) => ({
      target: h.target,
      reason: h.reason,
      status: h.status,
      endpoint: h.endpoint ?? null,
      queued_at: h.queuedAt,
      started_at: h.startedAt ?? null,
      finished_at: h.finishedAt ?? null,
      error: h.error ? { code: h.error.code, message: h.error.message } : null,
    })),
    result: resultBody(record),
    usage: record.usage ? { prompt_tokens: record.usage.promptTokens, completion_tokens: record.usage.completionTokens } : null,
    cost: costBody(record.cost),
    error: record.error ? { code: record.error.code, message: record.error.message } : null,
    created_at: record.createdAt,
    started_at: record.startedAt ?? null,
    finished_at: record.finishedAt ?? null,
    metadata: record.metadata ?? {},
    links: { self: `${baseUrl}/v1/jobs/${record.id}`, events: `${baseUrl}/v1/jobs/${record.id}/events` },
  };
}

function resultBody(record: JobRecord) {
  if (record.status !== 'succeeded' || !record.model || !record.provider || !record.usage) return null;
  const done = { type: 'done' as const, seq: 0, job: record.id, hop: record.hop, model: record.model, provider: record.provider, usage: record.usage, result: record.result };
  return record.kind === 'chat' ? chatCompletionBody(record.id, done, Math.floor((record.finishedAt ?? record.createdAt) / 1000)) : embeddingsBody(done, 'float');
}

/**
 * Where a waiting job stands: its place in its queue (in the fair-share
 * order) and about how long until it starts; null unless it is waiting.
 */
export async function queueEstimate(p: Pipeline, record: JobRecord): Promise<{ position: number; startMs: number | null } | null> {
  if (record.status !== 'queued') return null;
  const position = await queuePosition(p, record);
  return position === null ? null : { position, startMs: await estimatedStartMs(p, record, position) };
}

/** Jobs ahead of this one in its queue (0: next to run); null when it is not waiting there. */
async function queuePosition(p: Pipeline, record: JobRecord): Promise<number | null> {
  const target = parseTarget(record.chain[record.hop] ?? '');
  if (!target.ok) return null;
  const { prioritized } = p.queues.forTarget(target.target).keys;
  // Every hop is queued with a priority, so waiting hops sit in BullMQ's prioritized set, in order.
  return prioritized ? p.redis.zrank(prioritized, hopJobId(record.id, record.hop)) : null;
}

/**
 * About how long until a waiting local hop starts: the rounds of the GPU
 * slots that have its model until its place in line comes, each one
 * measured service time. Null for a cloud hop (its provider's pace is not
 * ours) or when no usable GPU has the model.
 */
async function estimatedStartMs(p: Pipeline, record: JobRecord, position: number): Promise<number | null> {
  const target = parseTarget(record.chain[record.hop] ?? '');
  if (!target.ok || !isLocalProvider(target.target.provider)) return null;
  const [fleet, times] = await Promise.all([p.cache.fleet.get(), p.cache.times.get()]);
  const slots = holdersOf(fleet, target.target.model).reduce((sum, g) => sum + g.slots, 0);
  if (slots === 0) return null;
  return Math.floor(position / slots) * (times.service[target.target.model] ?? ASSUMED_SERVICE_MS);
}

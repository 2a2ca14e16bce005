import { ValidationError } from '@mana/errors';
import type { ChatCompletionRequest } from '../openai/schemas.js';
import type { ApiDeps } from '../deps.js';
import { type ResponseEcho, jobIdOf, parseItemId } from './body.js';
import type { ResponseRequest } from './schemas.js';

type ChatMessage = ChatCompletionRequest['messages'][number];

/** What Mana keeps of a response beside its job: the conversation it was given (instructions aside) and its request's echo. */
export interface StoredResponse {
  tenant: string;
  history: ChatMessage[];
  echo: ResponseEcho;
}

export async function saveResponse(deps: ApiDeps, id: string, stored: StoredResponse): Promise<void> {
  await deps.pipeline.redis.set(deps.pipeline.keys.response(id), JSON.stringify(stored), 'EX', deps.config.jobRetentionS);
}

export async function loadResponse(deps: ApiDeps, id: string, tenant: string): Promise<StoredResponse | undefined> {
  const raw = await deps.pipeline.redis.get(deps.pipeline.keys.response(id));
  const stored = raw ? (JSON.parse(raw) as StoredResponse) : undefined;
  return stored && stored.tenant === tenant ? stored : undefined;
}

/**
 * The conversation a `previous_response_id` continues: that response's
 * history and its answer (text and function calls), as chat messages.
 * Its `instructions` are not carried over, as OpenAI has it.
 */
export async function conversationBefore(deps: ApiDeps, previousId: string, tenant: string): Promise<ChatMessage[]> {
  const stored = await loadResponse(deps, previousId, tenant);
  const jobId = jobIdOf(previousId);
  const record = stored && jobId ? await deps.pipeline.records.get(jobId) : undefined;
  if (!stored || !record)
    throw new ValidationError(`previous_response_id: no response ${previousId} (responses are kept for ${deps.config.jobRetentionS} s)`, 'previous_response_id');
  if (record.status !== 'succeeded') throw new ValidationError(`previous_response_id: response ${previousId} is ${record.status}, not completed`, 'previous_response_id');
  const result = record.result as { content: string; toolCalls?: Array<{ id: string; name: string; arguments: string }> };
  const calls = (result.toolCalls ?? []).map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
  return [...stored.history, { role: 'assistant', content: result.content || (calls.length ? null : ''), ...(calls.length ? { tool_calls: calls } : {}) }];
}

/**
 * Input items with every `item_reference` replaced by the item it names: an
 * output item of an earlier response of the same tenant (the AI SDK sends
 * these for stored responses), read back from that response's job.
 */
export async function resolveItemReferences(deps: ApiDeps, items: ResponseRequest['input'], tenant: string): Promise<ResponseRequest['input']> {
  if (typeof items === 'string' || !items.some((i) => 'type' in i && i.type === 'item_reference')) return items;
  return Promise.all(
    items.map(async (item, i) => {
      if (!('type' in item) || item.type !== 'item_reference') return item;
      const place = parseItemId(item.id);
      const stored = place ? await loadResponse(deps, place.responseId, tenant) : undefined;
      const jobId = place ? jobIdOf(place.responseId) : undefined;
      const record = stored && jobId ? await deps.pipeline.records.get(jobId) : undefined;
      const result = record?.result as { content: string; toolCalls?: Array<{ id: string; name: string; arguments: string }> } | undefined;
      if (place?.call !== undefined) {
        const call = result?.toolCalls?.[place.call];
        if (call) return { type: 'function_call' as const, call_id: call.id, name: call.name, arguments: call.arguments };
      } else if (result) return { role: 'assistant' as const, content: result.content };
      throw new ValidationError(`input.${i}.id: no item ${item.id} of a response kept within ${deps.config.jobRetentionS} s`, `input.${i}.id`);
    }),
  );
}

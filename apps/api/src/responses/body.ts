import type { SerializedError } from '@mana/errors';
import type { ChatResultBody, JobStatus, Usage } from '@mana/jobs';
import type { ResponseRequest } from './schemas.js';

/** A response is a Mana job: `resp_<hex>` is job `job_<hex>`. */
export function responseIdOf(jobId: string): string {
  return `resp_${jobId.replace(/^job_/, '')}`;
}

export function jobIdOf(responseId: string): string | undefined {
  return /^resp_[0-9a-f]{32}$/.test(responseId) ? `job_${responseId.slice(5)}` : undefined;
}

/** What a response object repeats of its request. */
export type ResponseEcho = Pick<
  ResponseRequest,
  'instructions' | 'tools' | 'tool_choice' | 'text' | 'temperature' | 'top_p' | 'max_output_tokens' | 'previous_response_id' | 'metadata' | 'parallel_tool_calls' | 'background'
> & {
  model: string;
};

export function echoOf(body: ResponseRequest, model: string): ResponseEcho {
  const { instructions, tools, tool_choice, text, temperature, top_p, max_output_tokens, previous_response_id, metadata, parallel_tool_calls, background } = body;
  return { model, instructions, tools, tool_choice, text, temperature, top_p, max_output_tokens, previous_response_id, metadata, parallel_tool_calls, background };
}

export interface ResponseState {
  status: JobStatus;
  createdAt: number;
  /** The `provider/model` that answered, once one has. */
  model?: string | undefined;
  result?: ChatResultBody | undefined;
  usage?: Usage | undefined;
  error?: Pick<SerializedError, 'code' | 'message'> | undefined;
}

type OutputItem = ReturnType<typeof messageItem> | ReturnType<typeof functionCallItem>;

/** OpenAI's `response` object for a job in any state. */
export function responseBody(id: string, echo: ResponseEcho, state: ResponseState) {
  const output: OutputItem[] = [];
  const result = state.result;
  if (result && (result.content || !result.toolCalls?.length)) output.push(messageItem(id, result.content));
  (result?.toolCalls ?? []).forEach((call, i) => output.push(functionCallItem(id, i, call)));
  const cut = state.status === 'succeeded' && result?.finishReason === 'length';
  return {
    id,
    object: 'response',
    created_at: Math.floor(state.createdAt / 1000),
    status: cut ? 'incomplete' : STATUS[state.status],
    error: state.error ? { code: state.error.code, message: state.error.message } : null,
    incomplete_details: cut ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions ?? null,
    max_output_tokens: echo.max_output_tokens ?? null,
    model: state.model ?? echo.model,
    output,
    parallel_tool_calls: echo.parallel_tool_calls ?? true,
    previous_response_id: echo.previous_response_id ?? null,
    temperature: echo.temperature ?? null,
    text: echo.text ?? { format: { type: 'text' } },
    tool_choice: echo.tool_choice ?? 'auto',
    tools: echo.tools ?? [],
    top_p: echo.top_p ?? null,
    background: echo.background ?? false,
    metadata: echo.metadata ?? {},
    usage: state.usage ? usageBody(state.usage) : null,
  };
}

const STATUS: Record<JobStatus, string> = { queued: 'queued', running: 'in_progress', succeeded: 'completed', failed: 'failed', cancelled: 'cancelled' };

export function messageItem(responseId: string, text: string, status: 'in_progress' | 'completed' = 'completed') {
  return {
    type: 'message' as const,
    id: `msg_${responseId.slice(5)}`,
    status,
    role: 'assistant' as const,
    content: status === 'completed' ? [outputText(text)] : ([] as Array<ReturnType<typeof outputText>>),
  };
}

export function outputText(text: string) {
  return { type: 'output_text' as const, text, annotations: [] as unknown[], logprobs: [] as unknown[] };
}

/**
 * A function call output item. Its id names its response and place
 * (`fc_<hex>_<n>`), so an `item_reference` to it can be resolved from the
 * job that made it.
 */
export function functionCallItem(responseId: string, index: number, call: NonNullable<ChatResultBody['toolCalls']>[number], status: 'in_progress' | 'completed' = 'completed') {
  return {
    type: 'function_call' as const,
    id: `fc_${responseId.slice(5)}_${index}`,
    call_id: call.id,
    name: call.name,
    arguments: status === 'completed' ? call.arguments : '',
    status,
  };
}

/** The response and place an output item id names (see functionCallItem, messageItem). */
export function parseItemId(itemId: string): { responseId: string; call?: number } | undefined {
  const call = /^fc_([0-9a-f]{32})_(\d+)$/.exec(itemId);
  if (call) return { responseId: `resp_${call[1]}`, call: Number(call[2]) };
  const message = /^msg_([0-9a-f]{32})$/.exec(itemId);
  return message ? { responseId: `resp_${message[1]}` } : undefined;
}

export function usageBody(usage: Usage) {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

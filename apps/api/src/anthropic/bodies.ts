import type { Response } from 'express';
import { type ErrorCode, httpStatusOf } from '@mana/errors';
import { type ChatResultBody, type Done, answeredModel } from '@mana/jobs';
import { argumentsObject } from '@mana/providers';

export const messageId = (jobId: string) => `msg_${jobId.replace(/^job_/, '')}`;

/** Anthropic's stop_reason for a finished answer. */
export function stopReason(result: ChatResultBody): 'end_turn' | 'max_tokens' | 'tool_use' {
  if (result.toolCalls?.length) return 'tool_use';
  return result.finishReason === 'length' ? 'max_tokens' : 'end_turn';
}

export function toolUseBlock(call: NonNullable<ChatResultBody['toolCalls']>[number]) {
  return { type: 'tool_use' as const, id: call.id, name: call.name, input: argumentsObject(call) };
}

/** Anthropic's `message` for a finished job. */
export function messageBody(done: Done) {
  const result = done.result as ChatResultBody;
  return {
    id: messageId(done.job),
    type: 'message',
    role: 'assistant',
    model: answeredModel(done),
    content: [...(result.content ? [{ type: 'text' as const, text: result.content }] : []), ...(result.toolCalls ?? []).map(toolUseBlock)],
    stop_reason: stopReason(result),
    stop_sequence: null,
    usage: usageBody(done.usage),
  };
}

export function usageBody(usage: Done['usage']) {
  return { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

/** Anthropic's error type for a Mana error code (its SDKs map these to their error classes). */
function errorType(code: ErrorCode): string {
  const status = httpStatusOf(code);
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || code === 'provider_rate_limited') return 'overloaded_error';
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

/** Anthropic's error envelope. */
export function anthropicErrorBody(error: { code: ErrorCode; message: string }) {
  return { type: 'error', error: { type: errorType(error.code), message: error.message } };
}

export function sendAnthropicFailure(res: Response, error: { code: ErrorCode; message: string }): void {
  res.status(httpStatusOf(error.code)).json(anthropicErrorBody(error));
}

import type OpenAI from 'openai';
import { imagesOf, textOf } from '../messages.js';
import type { ChatMessage, ChatParams, ChatRequest, FinishReason, TokenLogprob, ToolCall } from '../types.js';

type Body = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

/** Our request → a chat.completions body; images travel as data: URLs. */
export function toOpenAIChat(request: ChatRequest): Body {
  const params = request.params ?? {};
  const format = params.responseFormat;
  return {
    model: request.model,
    messages: request.messages.map(toMessage),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.topP !== undefined ? { top_p: params.topP } : {}),
    ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
    ...(params.stop !== undefined ? { stop: [...params.stop] } : {}),
    ...(params.seed !== undefined ? { seed: params.seed } : {}),
    ...(format?.type === 'json_object' ? { response_format: { type: 'json_object' } } : {}),
    ...(format?.type === 'json_schema' ? { response_format: { type: 'json_schema', json_schema: { name: format.name ?? 'response', schema: format.schema } } } : {}),
    ...toolsOf(params),
    ...(params.logprobs ? { logprobs: true, ...(params.logprobs.top > 0 ? { top_logprobs: params.logprobs.top } : {}) } : {}),
  };
}

/** OpenAI's `logprobs.content` entries → the neutral form. */
export function logprobsOf(
  content: ReadonlyArray<{ token: string; logprob: number; top_logprobs?: ReadonlyArray<{ token: string; logprob: number }> }> | null | undefined,
): TokenLogprob[] {
  return (content ?? []).map((e) => ({
    token: e.token,
    logprob: e.logprob,
    ...(e.top_logprobs?.length ? { top: e.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob })) } : {}),
  }));
}

/** Tools pass through as they came: these providers speak OpenAI's tool API. */
function toolsOf(params: ChatParams): Pick<Body, 'tools' | 'tool_choice' | 'parallel_tool_calls'> {
  if (!params.tools?.length) return {};
  const choice = params.toolChoice;
  return {
    tools: params.tools.map((t) => ({
      type: 'function' as const,
      function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), ...(t.parameters !== undefined ? { parameters: t.parameters } : {}) },
    })),
    ...(choice !== undefined ? { tool_choice: typeof choice === 'string' ? choice : { type: 'function' as const, function: { name: choice.name } } } : {}),
    ...(params.parallelToolCalls !== undefined ? { parallel_tool_calls: params.parallelToolCalls } : {}),
  };
}

function toMessage(message: ChatMessage): OpenAI.Chat.ChatCompletionMessageParam {
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: textOf(message.content) };
  if (message.role === 'assistant' && message.toolCalls?.length) {
    const text = textOf(message.content);
    return {
      role: 'assistant',
      content: text === '' ? null : text,
      tool_calls: message.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    };
  }
  const images = imagesOf(message.content);
  if (message.role !== 'user' || images.length === 0) {
    return { role: message.role, content: textOf(message.content) } as OpenAI.Chat.ChatCompletionMessageParam;
  }
  const text = textOf(message.content);
  return {
    role: 'user',
    content: [
      ...(text ? [{ type: 'text' as const, text }] : []),
      ...images.map((i) => ({ type: 'image_url' as const, image_url: { url: `data:${i.mimeType};base64,${i.data}` } })),
    ],
  };
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'error':
      return 'error';
    default:
      return 'stop';
  }
}

/**
 * Streamed tool calls arrive in fragments, by `index`: the first names the
 * call's id and function, the rest add to its arguments.
 */
export class ToolCallAssembler {
  private readonly calls: ToolCall[] = [];

  add(deltas: ReadonlyArray<{ index: number; id?: string | undefined; function?: { name?: string | undefined; arguments?: string | undefined } | undefined }> | undefined): void {
    for (const d of deltas ?? []) {
      const call = (this.calls[d.index] ??= { id: '', name: '', arguments: '' });
      if (d.id) call.id = d.id;
      if (d.function?.name) call.name += d.function.name;
      if (d.function?.arguments) call.arguments += d.function.arguments;
    }
  }

  get all(): ToolCall[] {
    return this.calls.filter(Boolean);
  }
}

/** A whole answer's tool calls. */
export function toolCallsOf(
  message: { tool_calls?: ReadonlyArray<{ id: string; type: string; function?: { name: string; arguments: string } }> | undefined } | undefined,
): ToolCall[] {
  return (message?.tool_calls ?? []).flatMap((c) => (c.type === 'function' && c.function ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : []));
}

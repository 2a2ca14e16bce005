import type OpenAI from 'openai';
import { imagesOf, textOf } from '../messages.js';
import type { ChatMessage, ChatRequest, FinishReason } from '../types.js';

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
  };
}

function toMessage(message: ChatMessage): OpenAI.Chat.ChatCompletionMessageParam {
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

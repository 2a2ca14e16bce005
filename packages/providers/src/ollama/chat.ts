import type { ChatRequest as OllamaChatRequest, ChatResponse, Message, Options } from 'ollama';
import { imagesOf, textOf } from '../messages.js';
import type { ChatRequest, ChatResult, FinishReason } from '../types.js';

/** OpenAI-shaped messages and parameters → an /api/chat body. */
export function toOllamaChat(request: ChatRequest): OllamaChatRequest {
  const params = request.params ?? {};
  const messages: Message[] = request.messages.map((m) => {
    const images = imagesOf(m.content);
    return {
      role: m.role,
      content: textOf(m.content),
      // Bytes, never strings: the SDK's Node entry reads a string image that
      // names an existing file from disk, and a client must not pick our files.
      ...(images.length > 0 ? { images: images.map((i) => Buffer.from(i.data, 'base64')) } : {}),
    };
  });
  const options: Partial<Options> = {};
  if (params.temperature !== undefined) options.temperature = params.temperature;
  if (params.topP !== undefined) options.top_p = params.topP;
  if (params.maxTokens !== undefined) options.num_predict = params.maxTokens;
  if (params.stop !== undefined) options.stop = [...params.stop];
  if (params.seed !== undefined) options.seed = params.seed;
  const format = params.responseFormat;
  return {
    model: request.model,
    messages,
    options,
    ...(format?.type === 'json_object' ? { format: 'json' } : {}),
    ...(format?.type === 'json_schema' ? { format: format.schema } : {}),
  };
}

export function toChatResult(response: ChatResponse, content: string): ChatResult {
  return {
    model: response.model,
    content,
    finishReason: toFinishReason(response.done_reason),
    usage: { promptTokens: response.prompt_eval_count ?? 0, completionTokens: response.eval_count ?? 0 },
    ...loadOf(response.load_duration),
  };
}

/** Ollama's load_duration (ns): how long this request waited for its model to load. */
export function loadOf(loadDurationNs: number | undefined): { loadMs?: number } {
  return loadDurationNs ? { loadMs: loadDurationNs / 1e6 } : {};
}

function toFinishReason(reason: string | undefined): FinishReason {
  return reason === 'length' ? 'length' : 'stop';
}

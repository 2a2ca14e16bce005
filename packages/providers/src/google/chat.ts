import type { Content, GenerateContentConfig, GenerateContentResponse, Part } from '@google/genai';
import { imagesOf, textOf } from '../messages.js';
import type { ChatMessage, ChatRequest, ChatResult, FinishReason } from '../types.js';

export interface GeminiChat {
  contents: Content[];
  config: GenerateContentConfig;
}

/** OpenAI-shaped messages → Gemini contents; system messages become the system instruction. */
export function toGeminiChat(request: ChatRequest, abortSignal: AbortSignal): GeminiChat {
  const params = request.params ?? {};
  const system = request.messages.filter((m) => m.role === 'system').map((m) => textOf(m.content));
  const contents = request.messages.filter((m) => m.role !== 'system').map(toContent);
  const config: GenerateContentConfig = { abortSignal };
  if (system.length > 0) config.systemInstruction = system.join('\n');
  if (params.temperature !== undefined) config.temperature = params.temperature;
  if (params.topP !== undefined) config.topP = params.topP;
  if (params.maxTokens !== undefined) config.maxOutputTokens = params.maxTokens;
  if (params.stop !== undefined) config.stopSequences = [...params.stop];
  if (params.seed !== undefined) config.seed = params.seed;
  if (params.responseFormat?.type === 'json_object') config.responseMimeType = 'application/json';
  if (params.responseFormat?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    config.responseJsonSchema = params.responseFormat.schema;
  }
  return { contents, config };
}

function toContent(message: ChatMessage): Content {
  const parts: Part[] = [];
  const text = textOf(message.content);
  if (text !== '') parts.push({ text });
  for (const image of imagesOf(message.content)) parts.push({ inlineData: { mimeType: image.mimeType, data: image.data } });
  return { role: message.role === 'assistant' ? 'model' : 'user', parts };
}

export function toChatResult(response: GenerateContentResponse, content: string, fallbackModel: string): ChatResult {
  const usage = response.usageMetadata;
  const candidate = response.candidates?.[0];
  return {
    model: response.modelVersion ?? fallbackModel,
    content,
    finishReason: toFinishReason(candidate?.finishReason, response.promptFeedback?.blockReason),
    usage: { promptTokens: usage?.promptTokenCount ?? 0, completionTokens: usage?.candidatesTokenCount ?? 0 },
  };
}

function toFinishReason(reason: string | undefined, blockReason: string | undefined): FinishReason {
  if (blockReason) return 'content_filter';
  switch (reason) {
    case undefined:
    case 'STOP':
      return 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    case 'MALFORMED_FUNCTION_CALL':
    case 'UNEXPECTED_TOOL_CALL':
      return 'tool_calls';
    default:
      return 'stop';
  }
}

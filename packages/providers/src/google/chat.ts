import { FunctionCallingConfigMode, type Content, type FunctionCall, type GenerateContentConfig, type GenerateContentResponse, type Part } from '@google/genai';
import { imagesOf, textOf } from '../messages.js';
import { argumentsObject, newToolCallId, toolNamesById } from '../tools/calls.js';
import { toGeminiSchema } from '../tools/gemini-schema.js';
import type { ChatMessage, ChatParams, ChatRequest, ChatResult, FinishReason, ToolCall } from '../types.js';

export interface GeminiChat {
  contents: Content[];
  config: GenerateContentConfig;
}

/** OpenAI-shaped messages → Gemini contents; system messages become the system instruction. */
export function toGeminiChat(request: ChatRequest, abortSignal: AbortSignal): GeminiChat {
  const params = request.params ?? {};
  const system = request.messages.filter((m) => m.role === 'system').map((m) => textOf(m.content));
  const contents = toContents(request.messages.filter((m) => m.role !== 'system'));
  const config: GenerateContentConfig = { abortSignal, ...toolConfig(params) };
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

/** Tools as Gemini's function declarations (its schema dialect), tool_choice as its function-calling mode. */
function toolConfig(params: ChatParams): Pick<GenerateContentConfig, 'tools' | 'toolConfig'> {
  if (!params.tools?.length) return {};
  const functionDeclarations = params.tools.map((t) => ({
    name: t.name,
    ...(t.description !== undefined ? { description: t.description } : {}),
    ...(t.parameters !== undefined && Object.keys(t.parameters.properties ?? {}).length > 0 ? { parameters: toGeminiSchema(t.parameters) } : {}),
  }));
  const choice = params.toolChoice ?? 'auto';
  const mode = choice === 'none' ? FunctionCallingConfigMode.NONE : choice === 'auto' ? FunctionCallingConfigMode.AUTO : FunctionCallingConfigMode.ANY;
  return {
    tools: [{ functionDeclarations }],
    toolConfig: { functionCallingConfig: { mode, ...(typeof choice === 'object' ? { allowedFunctionNames: [choice.name] } : {}) } },
  };
}

/**
 * Gemini's turns: assistant tool calls are `functionCall` parts of a model
 * turn; the tool results that follow (one or several messages) are one user
 * turn of `functionResponse` parts, named by the function each answers.
 */
function toContents(messages: readonly ChatMessage[]): Content[] {
  const names = toolNamesById(messages);
  const contents: Content[] = [];
  for (const message of messages) {
    if (message.role === 'tool') {
      const id = message.toolCallId ?? '';
      const part: Part = { functionResponse: { id, name: names.get(id) ?? 'tool', response: responseOf(textOf(message.content)) } };
      const last = contents.at(-1);
      if (last?.role === 'user' && last.parts?.every((p) => p.functionResponse)) last.parts.push(part);
      else contents.push({ role: 'user', parts: [part] });
      continue;
    }
    const parts: Part[] = [];
    const text = textOf(message.content);
    if (text !== '') parts.push({ text });
    for (const image of imagesOf(message.content)) parts.push({ inlineData: { mimeType: image.mimeType, data: image.data } });
    for (const call of message.toolCalls ?? []) parts.push({ functionCall: { id: call.id, name: call.name, args: argumentsObject(call) } });
    contents.push({ role: message.role === 'assistant' ? 'model' : 'user', parts });
  }
  return contents;
}

/** A tool's output: Gemini wants an object; JSON output is passed as it is, anything else under `result`. */
function responseOf(output: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(output);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: plain text
  }
  return { result: output };
}

/** The text of a response, read from its parts: the SDK's `text` getter warns on a response that also calls functions. */
export function textOfResponse(response: GenerateContentResponse): string {
  return (response.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => typeof p.text === 'string' && !p.thought)
    .map((p) => p.text)
    .join('');
}

/** The function calls of a response, as OpenAI-shaped calls (Gemini's own id when it gives one). */
export function toolCallsOf(calls: readonly FunctionCall[]): ToolCall[] {
  return calls.map((c) => ({ id: c.id || newToolCallId(), name: c.name ?? '', arguments: JSON.stringify(c.args ?? {}) }));
}

export function functionCallsOf(response: GenerateContentResponse): FunctionCall[] {
  return (response.candidates?.[0]?.content?.parts ?? []).flatMap((p) => (p.functionCall ? [p.functionCall] : []));
}

export function toChatResult(response: GenerateContentResponse, content: string, fallbackModel: string, calls: readonly FunctionCall[] = functionCallsOf(response)): ChatResult {
  const usage = response.usageMetadata;
  const candidate = response.candidates?.[0];
  const toolCalls = toolCallsOf(calls);
  return {
    model: response.modelVersion ?? fallbackModel,
    content,
    // Gemini says STOP after a function call; OpenAI's clients look for tool_calls.
    finishReason: toolCalls.length > 0 ? 'tool_calls' : toFinishReason(candidate?.finishReason, response.promptFeedback?.blockReason),
    usage: { promptTokens: usage?.promptTokenCount ?? 0, completionTokens: usage?.candidatesTokenCount ?? 0 },
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
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

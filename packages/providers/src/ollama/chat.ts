import type { ChatRequest as OllamaChatRequest, ChatResponse, Logprob, Message, Options, Tool, ToolCall as OllamaToolCall } from 'ollama';
import { imagesOf, textOf } from '../messages.js';
import { argumentsObject, newToolCallId, toolNamesById } from '../tools/calls.js';
import type { ChatParams, ChatRequest, ChatResult, FinishReason } from '../types.js';

/** OpenAI-shaped messages and parameters → an /api/chat body. */
export function toOllamaChat(request: ChatRequest): OllamaChatRequest {
  const params = request.params ?? {};
  const names = toolNamesById(request.messages);
  const messages: Message[] = request.messages.map((m) => {
    const images = imagesOf(m.content);
    return {
      role: m.role,
      content: textOf(m.content),
      // Bytes, never strings: the SDK's Node entry reads a string image that
      // names an existing file from disk, and a client must not pick our files.
      ...(images.length > 0 ? { images: images.map((i) => Buffer.from(i.data, 'base64')) } : {}),
      // Ollama's calls carry no id and their arguments as an object; a tool result names its function.
      ...(m.toolCalls?.length ? { tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: argumentsObject(c) } })) } : {}),
      ...(m.role === 'tool' && m.toolCallId && names.has(m.toolCallId) ? { tool_name: names.get(m.toolCallId)! } : {}),
    };
  });
  const options: Partial<Options> = {};
  if (params.temperature !== undefined) options.temperature = params.temperature;
  if (params.topP !== undefined) options.top_p = params.topP;
  if (params.maxTokens !== undefined) options.num_predict = params.maxTokens;
  if (params.stop !== undefined) options.stop = [...params.stop];
  if (params.seed !== undefined) options.seed = params.seed;
  const format = params.responseFormat;
  const tools = toolsFor(params);
  return {
    model: request.model,
    messages,
    options,
    ...(params.logprobs ? { logprobs: true, ...(params.logprobs.top > 0 ? { top_logprobs: params.logprobs.top } : {}) } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    ...(format?.type === 'json_object' ? { format: 'json' } : {}),
    ...(format?.type === 'json_schema' ? { format: format.schema } : {}),
  };
}

/**
 * The request's tools in Ollama's form. Ollama has no tool_choice: "none"
 * sends no tools, a named function sends only that one; "required" cannot
 * be enforced (the model may still answer in text).
 */
function toolsFor(params: ChatParams): Tool[] {
  const choice = params.toolChoice;
  if (!params.tools?.length || choice === 'none') return [];
  const chosen = typeof choice === 'object' ? params.tools.filter((t) => t.name === choice.name) : params.tools;
  return chosen.map((t) => ({
    type: 'function',
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      ...(t.parameters !== undefined ? { parameters: t.parameters as Tool['function']['parameters'] } : {}),
    },
  }));
}

export function toChatResult(
  response: ChatResponse,
  content: string,
  calls: readonly OllamaToolCall[] = response.message.tool_calls ?? [],
  logprobs: readonly Logprob[] = response.logprobs ?? [],
): ChatResult {
  const toolCalls = calls.map((c) => ({ id: newToolCallId(), name: c.function.name, arguments: JSON.stringify(c.function.arguments ?? {}) }));
  return {
    model: response.model,
    content,
    // Ollama says "stop" after calling tools; OpenAI's clients look for tool_calls.
    finishReason: toolCalls.length > 0 ? 'tool_calls' : toFinishReason(response.done_reason),
    usage: { promptTokens: response.prompt_eval_count ?? 0, completionTokens: response.eval_count ?? 0 },
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
    ...(logprobs.length > 0 ? { logprobs: logprobs.map((l) => ({ token: l.token, logprob: l.logprob, ...(l.top_logprobs?.length ? { top: l.top_logprobs } : {}) })) } : {}),
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

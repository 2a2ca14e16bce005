import { ManaError, ValidationError } from '@mana/errors';
import type { Work } from '@mana/jobs';
import { fromLegacyFunctions } from './legacy-functions.js';
import { type ChatCompletionRequest, type EmbeddingRequest, LIMITS } from './schemas.js';

type ChatWork = Extract<Work, { kind: 'chat' }>;
type Message = ChatWork['messages'][number];
type Part = Exclude<Message['content'], string>[number];
type RequestPart = Exclude<NonNullable<ChatCompletionRequest['messages'][number]['content']>, string>[number];

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

/** How images given by URL are fetched: the configured deadline and allow-list, the per-image and per-request limits. */
export function imageFetchOptions(deps: { config: { imageFetch: { timeoutMs: number; allow: readonly string[] } } }) {
  return { ...deps.config.imageFetch, maxBytes: LIMITS.imageBytes, maxImages: LIMITS.images };
}

/** An OpenAI chat request → the work a hop runs; images are inline by now (data: URLs; see inlineImageUrls). */
export function toChatWork(request: ChatCompletionRequest): ChatWork {
  const body = fromLegacyFunctions(request);
  const images = body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content.filter((p) => p.type === 'image_url') : []));
  if (images.length > LIMITS.images) throw new ValidationError(`messages: at most ${LIMITS.images} images per request, got ${images.length}`, 'messages');
  const messages: Message[] = body.messages.map((m, i) => ({
    // "developer" is OpenAI's newer name for system instructions; "function" messages became tool messages above.
    role: m.role === 'developer' ? 'system' : m.role === 'function' ? 'tool' : m.role,
    content: typeof m.content === 'string' || m.content == null ? (m.content ?? '') : m.content.map((p, j) => toPart(p, `messages.${i}.content.${j}`)),
    ...(m.role === 'assistant' && m.tool_calls?.length ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) } : {}),
    ...(m.role === 'tool' ? { toolCallId: m.tool_call_id } : {}),
  }));
  checkToolHistory(body);
  const format = body.response_format;
  const stop = body.stop === null || body.stop === undefined ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    kind: 'chat',
    messages,
    stream: body.stream === true,
    params: {
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...(body.top_p != null ? { topP: body.top_p } : {}),
      ...((body.max_completion_tokens ?? body.max_tokens) != null ? { maxTokens: (body.max_completion_tokens ?? body.max_tokens) as number } : {}),
      ...(stop ? { stop } : {}),
      ...(body.seed != null ? { seed: body.seed } : {}),
      ...(format?.type === 'json_object' ? { responseFormat: { type: 'json_object' as const } } : {}),
      ...(format?.type === 'json_schema' ? { responseFormat: { type: 'json_schema' as const, name: format.json_schema.name, schema: format.json_schema.schema } } : {}),
      ...toolParams(body),
      ...logprobParams(body),
    },
  };
}

/** logprobs / top_logprobs, as OpenAI checks them; carried only on whole answers (a stream's tokens travel as text). */
function logprobParams(body: ChatCompletionRequest): Pick<ChatWork['params'], 'logprobs'> {
  if (body.top_logprobs != null && body.logprobs !== true) throw new ValidationError('top_logprobs: needs logprobs: true', 'top_logprobs');
  if (body.logprobs !== true) return {};
  if (body.stream) throw new ValidationError('logprobs: not available on a streamed answer yet; ask without stream', 'logprobs');
  return { logprobs: { top: body.top_logprobs ?? 0 } };
}

/** tools, tool_choice and parallel_tool_calls → the work's params; a tool_choice naming a function the request does not define is a 400. */
function toolParams(body: ChatCompletionRequest): Pick<ChatWork['params'], 'tools' | 'toolChoice' | 'parallelToolCalls'> {
  const tools = (body.tools ?? []).map((t) => ({
    name: t.function.name,
    ...(t.function.description !== undefined ? { description: t.function.description } : {}),
    ...(t.function.parameters !== undefined ? { parameters: t.function.parameters } : {}),
  }));
  const choice = body.tool_choice ?? undefined;
  if (choice !== undefined && choice !== 'none' && tools.length === 0) throw new ValidationError('tool_choice: needs tools to choose from', 'tool_choice');
  if (typeof choice === 'object' && !tools.some((t) => t.name === choice.function.name)) {
    throw new ValidationError(`tool_choice: names the function "${choice.function.name}", which tools does not define`, 'tool_choice');
  }
  return {
    ...(tools.length > 0 ? { tools } : {}),
    ...(choice !== undefined ? { toolChoice: typeof choice === 'string' ? choice : { name: choice.function.name } } : {}),
    ...(body.parallel_tool_calls != null ? { parallelToolCalls: body.parallel_tool_calls } : {}),
  };
}

/** As OpenAI checks it: every tool message answers a call an earlier assistant message made, and a tool message says which. */
function checkToolHistory(body: ChatCompletionRequest): void {
  const calls = new Set<string>();
  body.messages.forEach((m, i) => {
    if (m.tool_calls && m.role !== 'assistant') throw new ValidationError(`messages.${i}.tool_calls: only assistant messages make tool calls`, `messages.${i}.tool_calls`);
    for (const call of m.tool_calls ?? []) calls.add(call.id);
    if (m.role !== 'tool') return;
    if (!m.tool_call_id) throw new ValidationError(`messages.${i}.tool_call_id: a tool message must say which call it answers`, `messages.${i}.tool_call_id`);
    if (!calls.has(m.tool_call_id)) {
      throw new ValidationError(`messages.${i}.tool_call_id: "${m.tool_call_id}" answers no tool call of an earlier assistant message`, `messages.${i}.tool_call_id`);
    }
  });
}

function toPart(part: RequestPart, field: string): Part {
  if (part.type === 'text') return { type: 'text', text: part.text };
  const url = typeof part.image_url === 'string' ? part.image_url : part.image_url.url;
  const match = DATA_URL.exec(url);
  if (!match)
    throw new ValidationError(
      `${field}.image_url: expected an http(s) URL or an inline image (data:image/...;base64,...); a batch line takes inline images only`,
      `${field}.image_url`,
    );
  const bytes = Math.floor(((match[2] as string).replace(/\s/g, '').length * 3) / 4);
  if (bytes > LIMITS.imageBytes) {
    throw new ManaError('payload_too_large', `${field}.image_url: the image is ${bytes} bytes; at most ${LIMITS.imageBytes} per image`);
  }
  return { type: 'image', mimeType: (match[1] as string).toLowerCase(), data: (match[2] as string).replace(/\s/g, '') };
}

export function toEmbeddingWork(body: EmbeddingRequest): Extract<Work, { kind: 'embedding' }> {
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  return { kind: 'embedding', input, ...(body.dimensions ? { dimensions: body.dimensions } : {}) };
}

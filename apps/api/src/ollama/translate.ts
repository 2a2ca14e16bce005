import { ValidationError } from '@mana/errors';
import type { Work } from '@mana/jobs';
import type { OllamaChatRequest, OllamaGenerateRequest, OllamaMessage } from './schemas.js';

type ChatWork = Extract<Work, { kind: 'chat' }>;
type Message = ChatWork['messages'][number];

/** An Ollama chat request → the work a hop runs, whichever provider ends up serving it. */
export function fromOllamaChat(body: OllamaChatRequest): ChatWork {
  return { kind: 'chat', messages: toMessages(body.messages), stream: body.stream !== false, params: { ...paramsOf(body), ...toolsOf(body) } };
}

/**
 * An Ollama generate request: with `raw` or a `suffix`, a completion of the
 * prompt as written; otherwise the prompt is a user turn (after `system`),
 * as Ollama's own template makes it.
 */
export function fromOllamaGenerate(body: OllamaGenerateRequest): ChatWork {
  const params = paramsOf(body);
  if (body.raw || body.suffix !== undefined) {
    return {
      kind: 'chat',
      messages: [{ role: 'user', content: body.prompt }],
      stream: body.stream !== false,
      params: { ...params, completion: body.suffix !== undefined ? { suffix: body.suffix } : {} },
    };
  }
  const user: Message = { role: 'user', content: withImages(body.prompt, body.images, 'images') };
  return { kind: 'chat', messages: [...(body.system ? [{ role: 'system' as const, content: body.system }] : []), user], stream: body.stream !== false, params };
}

function paramsOf(body: Pick<OllamaChatRequest, 'options' | 'format'>): ChatWork['params'] {
  const o = body.options ?? {};
  const format = body.format;
  return {
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.top_p !== undefined ? { topP: o.top_p } : {}),
    // Ollama's -1 (and -2) mean "no limit": nothing to pass on.
    ...(o.num_predict !== undefined && o.num_predict > 0 ? { maxTokens: o.num_predict } : {}),
    ...(o.stop?.length ? { stop: o.stop } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(format === 'json' ? { responseFormat: { type: 'json_object' as const } } : {}),
    ...(format && typeof format === 'object' ? { responseFormat: { type: 'json_schema' as const, schema: format } } : {}),
  };
}

function toolsOf(body: OllamaChatRequest): Pick<ChatWork['params'], 'tools'> {
  if (!body.tools?.length) return {};
  return {
    tools: body.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      ...(t.function.parameters ? { parameters: t.function.parameters } : {}),
    })),
  };
}

/**
 * Ollama's messages: its tool calls carry no id and its tool results name
 * their function, so ids are made here (`call_<n>`) and each result is
 * matched to the latest call of its function not yet answered.
 */
function toMessages(messages: readonly OllamaMessage[]): Message[] {
  const open: Array<{ id: string; name: string }> = [];
  let next = 0;
  return messages.map((m, i) => {
    if (m.role === 'tool') {
      const at = m.tool_name ? open.findLastIndex((c) => c.name === m.tool_name) : open.length - 1;
      if (at < 0) throw new ValidationError(`messages.${i}: a tool message with no tool call before it to answer`, `messages.${i}`);
      const [call] = open.splice(at, 1);
      return { role: 'tool', content: m.content, toolCallId: call!.id };
    }
    const toolCalls = (m.tool_calls ?? []).map((c) => {
      const call = { id: `call_${next++}`, name: c.function.name, arguments: JSON.stringify(c.function.arguments) };
      open.push({ id: call.id, name: call.name });
      return call;
    });
    return { role: m.role, content: withImages(m.content, m.images, `messages.${i}.images`), ...(toolCalls.length ? { toolCalls } : {}) };
  });
}

/** Ollama sends images as bare base64; the type is read from the bytes. */
function withImages(text: string, images: readonly string[] | undefined, field: string): Message['content'] {
  if (!images?.length) return text;
  return [
    ...(text ? [{ type: 'text' as const, text }] : []),
    ...images.map((data, j) => {
      const bytes = Buffer.from(data.slice(0, 24), 'base64');
      const mimeType = imageType(bytes);
      if (!mimeType) throw new ValidationError(`${field}.${j}: not a base64 PNG, JPEG, GIF or WebP image`, `${field}.${j}`);
      return { type: 'image' as const, mimeType, data };
    }),
  ];
}

function imageType(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

import { ValidationError } from '@mana/errors';
import type { ChatCompletionRequest } from '../openai/schemas.js';
import type { AnthropicBlock, MessagesRequest } from './schemas.js';

type ChatBody = ChatCompletionRequest;
type ChatMessage = ChatBody['messages'][number];
type Part = Exclude<NonNullable<ChatMessage['content']>, string | null>[number];

/**
 * An Anthropic Messages request → the chat request it amounts to, so it
 * runs through the same validation, image fetching, routing and providers:
 * `system` a system message; a user turn's `tool_result` blocks become
 * `tool` messages (before its other content); an assistant turn's
 * `tool_use` blocks become its `tool_calls`.
 */
export function toChatBody(body: Omit<MessagesRequest, 'max_tokens' | 'stream'> & { max_tokens?: number; stream?: boolean | undefined }): ChatBody {
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('\n');
  const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  body.messages.forEach((m, i) => messages.push(...toMessages(m.role, m.content, `messages.${i}.content`)));
  const choice = body.tool_choice;
  return {
    ...(body.model !== undefined ? { model: body.model } : {}),
    messages,
    ...(body.max_tokens !== undefined ? { max_tokens: body.max_tokens } : {}),
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { top_p: body.top_p } : {}),
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences.slice(0, 4) } : {}),
    stream: body.stream === true,
    ...(body.tools?.length
      ? {
          tools: body.tools.map((t) => ({
            type: 'function' as const,
            function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema },
          })),
        }
      : {}),
    ...(choice
      ? {
          tool_choice:
            choice.type === 'auto' ? 'auto' : choice.type === 'any' ? 'required' : choice.type === 'none' ? 'none' : { type: 'function' as const, function: { name: choice.name } },
        }
      : {}),
    ...(choice && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use ? { parallel_tool_calls: false } : {}),
  } as ChatBody;
}

function toMessages(role: 'user' | 'assistant', content: string | AnthropicBlock[], field: string): ChatMessage[] {
  if (typeof content === 'string') return [{ role, content }];
  if (role === 'assistant') {
    const text = content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
    const calls = content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, type: 'function' as const, function: { name: b.name, arguments: JSON.stringify(b.input) } }] : []));
    return [{ role: 'assistant', content: text || (calls.length ? null : ''), ...(calls.length ? { tool_calls: calls } : {}) }];
  }
  const results: ChatMessage[] = [];
  const parts: Part[] = [];
  content.forEach((b, j) => {
    if (b.type === 'tool_result') {
      const text = typeof b.content === 'string' ? b.content : (b.content ?? []).flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n');
      results.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error ? `[error] ${text}` : text });
    } else if (b.type === 'text') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image')
      parts.push({ type: 'image_url', image_url: { url: b.source.type === 'base64' ? `data:${b.source.media_type};base64,${b.source.data}` : b.source.url } });
    else throw new ValidationError(`${field}.${j}: a user turn cannot hold a tool_use block`, `${field}.${j}`);
  });
  return parts.length > 0 ? [...results, { role: 'user', content: parts }] : results;
}

import { ValidationError } from '@mana/errors';
import type { ChatCompletionRequest } from '../openai/schemas.js';
import type { ResponseInputItem, ResponseRequest } from './schemas.js';

type ChatBody = ChatCompletionRequest;
type ChatMessage = ChatBody['messages'][number];

/**
 * A Responses request → the chat request it amounts to (OpenAI's own
 * mapping): `instructions` a system message first, `previous` (the earlier
 * response's conversation) next, then the input items; function calls and
 * their outputs become assistant `tool_calls` and `tool` messages; function
 * tools, tool_choice and text.format their chat forms. Whatever the chat
 * path cannot serve is refused here, named by its Responses field.
 */
export function toChatBody(body: ResponseRequest, previous: readonly ChatMessage[]): { chat: ChatBody; history: ChatMessage[] } {
  const input = typeof body.input === 'string' ? [{ role: 'user' as const, content: body.input }] : body.input;
  const history = [...previous, ...toMessages(input, previous)];
  const format = body.text?.format;
  const chat: ChatBody = {
    ...(body.model !== undefined ? { model: body.model } : {}),
    messages: [...(body.instructions ? [{ role: 'system' as const, content: body.instructions }] : []), ...history],
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { top_p: body.top_p } : {}),
    ...(body.max_output_tokens != null ? { max_tokens: body.max_output_tokens } : {}),
    stream: body.stream === true,
    ...(format && format.type !== 'text'
      ? {
          response_format:
            format.type === 'json_object' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: format.strict } },
        }
      : {}),
    ...toolsOf(body),
  } as ChatBody;
  return { chat, history };
}

function toolsOf(body: ResponseRequest): Partial<ChatBody> {
  const tools = (body.tools ?? []).map((t, i) => {
    if (t.type !== 'function') {
      throw new ValidationError(
        `tools.${i}.type: "${t.type}" is one of OpenAI's hosted tools, which Mana does not run; define it as a function tool and run it yourself`,
        `tools.${i}.type`,
      );
    }
    if (!t.name) throw new ValidationError(`tools.${i}.name: a function tool needs a name`, `tools.${i}.name`);
    return {
      type: 'function' as const,
      function: { name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) },
    };
  });
  const choice = body.tool_choice;
  return {
    ...(tools.length > 0 ? { tools } : {}),
    ...(choice !== undefined ? { tool_choice: typeof choice === 'string' ? choice : { type: 'function' as const, function: { name: choice.name } } } : {}),
    ...(body.parallel_tool_calls != null ? { parallel_tool_calls: body.parallel_tool_calls } : {}),
  };
}

function toMessages(items: readonly ResponseInputItem[], previous: readonly ChatMessage[]): ChatMessage[] {
  const calls = new Set(previous.flatMap((m) => (m.tool_calls ?? []).map((c) => c.id)));
  const out: ChatMessage[] = [];
  items.forEach((item, i) => {
    if ('type' in item && item.type === 'function_call') {
      const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: item.arguments } };
      calls.add(item.call_id);
      const last = out.at(-1);
      // Calls made in one turn are one assistant message, as chat completions carry them.
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    if ('type' in item && item.type === 'function_call_output') {
      if (!calls.has(item.call_id)) throw new ValidationError(`input.${i}.call_id: "${item.call_id}" answers no function_call before it`, `input.${i}.call_id`);
      out.push({ role: 'tool', tool_call_id: item.call_id, content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output) });
      return;
    }
    const message = item as Extract<ResponseInputItem, { role: string }>;
    out.push({ role: message.role, content: toContent(message.content, `input.${i}.content`) } as ChatMessage);
  });
  return out;
}

function toContent(content: Extract<ResponseInputItem, { role: string }>['content'], field: string): ChatMessage['content'] {
  if (typeof content === 'string') return content;
  return content.map((part, j) => {
    if (part.type === 'input_image') {
      if (!part.image_url) throw new ValidationError(`${field}.${j}: images by file_id are not supported; send image_url (a URL or a data: URL)`, `${field}.${j}`);
      return { type: 'image_url' as const, image_url: { url: part.image_url } };
    }
    return { type: 'text' as const, text: part.text };
  });
}

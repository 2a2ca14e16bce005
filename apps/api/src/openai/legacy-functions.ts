import { ValidationError } from '@mana/errors';
import type { ChatCompletionRequest } from './schemas.js';

type Message = ChatCompletionRequest['messages'][number];

/** True when the request speaks the deprecated functions API, so its answer is given in that form too. */
export function usesLegacyFunctions(body: ChatCompletionRequest): boolean {
  return body.functions !== undefined || body.function_call !== undefined || body.messages.some((m) => m.role === 'function' || m.function_call);
}

/**
 * The deprecated functions API as the tools API it became: `functions` are
 * tools, `function_call` is tool_choice, an assistant's `function_call` is
 * a tool call (given an id), a `function` message is the tool result that
 * answers the latest call of its name. Mixing both APIs is a 400.
 */
export function fromLegacyFunctions(body: ChatCompletionRequest): ChatCompletionRequest {
  if (!usesLegacyFunctions(body)) return body;
  if (body.tools?.length || body.tool_choice != null) throw new ValidationError('functions: send either functions or tools, not both', 'functions');
  const open: Array<{ id: string; name: string }> = [];
  const messages = body.messages.map((m, i): Message => {
    if (m.role === 'assistant' && m.function_call) {
      const id = `call_fn${i}`;
      open.push({ id, name: m.function_call.name });
      const { function_call: call, ...rest } = m;
      return { ...rest, tool_calls: [{ id, type: 'function', function: { name: call.name, arguments: call.arguments } }] };
    }
    if (m.role !== 'function') return m;
    const at = open.findLastIndex((c) => c.name === m.name);
    if (at < 0) throw new ValidationError(`messages.${i}: a function message answers no function_call before it named "${m.name ?? ''}"`, `messages.${i}.name`);
    const [call] = open.splice(at, 1);
    return { role: 'tool', tool_call_id: call!.id, content: m.content ?? '' };
  });
  const choice = body.function_call;
  const { functions, function_call: _choice, ...rest } = body;
  return {
    ...rest,
    messages,
    ...(functions?.length ? { tools: functions.map((f) => ({ type: 'function' as const, function: f })) } : {}),
    ...(choice !== undefined ? { tool_choice: typeof choice === 'string' ? choice : { type: 'function' as const, function: { name: choice.name } } } : {}),
    // The functions API called one function per turn.
    parallel_tool_calls: false,
  };
}

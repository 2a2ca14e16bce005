import { randomUUID } from 'node:crypto';
import type { ChatMessage, ToolCall } from '../types.js';

/** An id for a call from a provider that gives none (Ollama; Gemini often): OpenAI's `call_` form. */
export function newToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** A call's arguments as an object, for providers that take them so (Ollama, Gemini); text that is not a JSON object is kept under `input`. */
export function argumentsObject(call: ToolCall): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(call.arguments || '{}');
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { input: parsed };
  } catch {
    return { input: call.arguments };
  }
}

/**
 * The function each tool message answers, by its call id: Ollama and Gemini
 * name the function in a tool result where OpenAI names the call.
 */
export function toolNamesById(messages: readonly ChatMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) for (const call of m.toolCalls ?? []) names.set(call.id, call.name);
  return names;
}

import { createHash } from 'node:crypto';
import { float32VectorJson } from './float32-text.js';

/** What an emulated model is asked: the last user text, and how many images came with it. */
export interface Prompt {
  model: string;
  lastUserText: string;
  images: number;
  /** Every word of every message, for prompt token counts. */
  promptWords: number;
  json: boolean;
  /**
   * The text of a final assistant message (a prefill): the model continues
   * it instead of answering afresh, as Ollama, Gemini 2.x and the
   * OpenAI-compatible providers that support prefill do.
   */
  prefix?: string | undefined;
  /** The functions the request offers, and how it lets the model use them. */
  tools?: EmulatedTool[] | undefined;
  toolChoice?: 'auto' | 'none' | 'required' | { name: string } | undefined;
  parallelToolCalls?: boolean | undefined;
  /** When the last message is a tool's result: what the tool said. */
  toolResult?: string | undefined;
  /** A fill-in-the-middle completion: the text that follows the gap. */
  suffix?: string | undefined;
}

export interface EmulatedTool {
  name: string;
  parameters?: unknown;
}

/** A call the emulated model makes. */
export interface EmulatedCall {
  name: string;
  args: Record<string, unknown>;
}

/**
 * The tools an emulated model calls, deterministically so tests can assert
 * them: the offered functions the user's last message names (all of them,
 * or the first with parallel_tool_calls off); a named tool_choice calls that
 * one; "required" calls the first when none is named; after a tool result it
 * answers in text. Arguments fill each required property from the schema
 * (strings with the user's text).
 */
export function toolCallsFor(prompt: Prompt): EmulatedCall[] {
  const tools = prompt.tools ?? [];
  const choice = prompt.toolChoice;
  if (tools.length === 0 || choice === 'none' || prompt.toolResult !== undefined) return [];
  const mentioned = tools.filter((t) => prompt.lastUserText.includes(t.name));
  let chosen = typeof choice === 'object' ? tools.filter((t) => t.name === choice.name) : mentioned.length > 0 ? mentioned : choice === 'required' ? tools.slice(0, 1) : [];
  if (prompt.parallelToolCalls === false) chosen = chosen.slice(0, 1);
  return chosen.map((t) => ({ name: t.name, args: argumentsFor(t.parameters, prompt.lastUserText) }));
}

function argumentsFor(schema: unknown, text: string): Record<string, unknown> {
  const s = (schema ?? {}) as { properties?: Record<string, { type?: unknown; enum?: unknown[] }>; required?: string[] };
  const names = s.required ?? Object.keys(s.properties ?? {});
  return Object.fromEntries(
    names.map((name) => {
      const p = s.properties?.[name] ?? {};
      const type = String(Array.isArray(p.type) ? p.type[0] : (p.type ?? 'string')).toLowerCase();
      if (Array.isArray(p.enum) && p.enum.length > 0) return [name, p.enum[0]];
      return [name, type === 'number' || type === 'integer' ? 42 : type === 'boolean' ? true : type === 'array' ? [] : type === 'object' ? {} : text];
    }),
  );
}

/** What an emulated model says to continue someone else's text: recognisable, so tests can tell who wrote what. */
export function continuationText(model: string): string {
  return ` (continued by ${model})`;
}

/**
 * The deterministic answer of an emulated model, so tests can assert exact
 * text: it names the model and echoes the last user message.
 */
export function replyText(prompt: Prompt): string {
  const seen = prompt.images > 0 ? ` [saw ${prompt.images} image${prompt.images === 1 ? '' : 's'}]` : '';
  if (prompt.json) return JSON.stringify({ model: prompt.model, echo: prompt.lastUserText, images: prompt.images });
  const tool = prompt.toolResult !== undefined ? ` [tool said: ${prompt.toolResult}]` : '';
  const gap = prompt.suffix !== undefined ? ` [before: ${prompt.suffix}]` : '';
  return `Echo from ${prompt.model}: ${prompt.lastUserText}${seen}${tool}${gap}`;
}

/** The whole answer: a fresh reply, or the rest of it after a prefill (its own text goes on where it was cut). */
function answerText(prompt: Prompt): string {
  const full = replyText(prompt);
  if (prompt.prefix === undefined) return full;
  return full.startsWith(prompt.prefix) ? full.slice(prompt.prefix.length) : continuationText(prompt.model);
}

/** Splits text into "tokens" (a word with its trailing space) that join back to the text exactly. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === '' ? [] : [text]);
}

export interface Generation {
  tokens: string[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
}

/** The tokens an emulated model produces, cut at max_tokens like a real one. */
export function generate(prompt: Prompt, maxTokens: number | undefined): Generation {
  const all = tokenize(answerText(prompt));
  const cut = maxTokens !== undefined && maxTokens >= 0 && all.length > maxTokens;
  return { tokens: cut ? all.slice(0, maxTokens) : all, finishReason: cut ? 'length' : 'stop', promptTokens: prompt.promptWords };
}

/**
 * Vectors made already, by model, size and text. An emulator stands in for a
 * GPU, whose work costs the gateway's machine nothing; made afresh, a 16 ×
 * 768 request cost the process serving it (a bench's, shared with its load)
 * more CPU than the client reading the answer. Benches send the same
 * passages again and again, so each is made once.
 */
const made = new Map<string, { values: readonly number[]; json?: string }>();
const MAX_MADE = 4_096;

/** A unit vector of float32 values derived from the model and the text: equal inputs, equal vectors. */
export function embedText(model: string, text: string, dimensions: number): number[] {
  return [...vectorOf(model, text, dimensions).values];
}

/** embedText's vector as Go writes a []float32 (see float32Text), made once per vector. */
export function embedTextJson(model: string, text: string, dimensions: number): string {
  const vector = vectorOf(model, text, dimensions);
  vector.json ??= float32VectorJson(vector.values);
  return vector.json;
}

function vectorOf(model: string, text: string, dimensions: number): { values: readonly number[]; json?: string } {
  const key = `${model}\u0000${dimensions}\u0000${text}`;
  let vector = made.get(key);
  if (!vector) {
    if (made.size >= MAX_MADE) made.clear();
    made.set(key, (vector = { values: makeVector(model, text, dimensions) }));
  }
  return vector;
}

function makeVector(model: string, text: string, dimensions: number): number[] {
  const values: number[] = [];
  let block = 0;
  while (values.length < dimensions) {
    const digest = createHash('sha256').update(`${model}\u0000${text}\u0000${block++}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) {
      values.push(digest.readUInt32LE(i) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1;
  // float32, as every model's embeddings are (Ollama's, OpenAI's and Gemini's wire formats all carry float32 values).
  return values.map((v) => Math.fround(v / norm));
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Deterministic log-probabilities for an answer's tokens, with `top` alternatives at each place (the token itself first). */
export function tokenLogprobs(tokens: readonly string[], top: number): Array<{ token: string; logprob: number; top_logprobs: Array<{ token: string; logprob: number }> }> {
  return tokens.map((token, i) => {
    const logprob = -0.01 - (i % 5) * 0.25;
    const alternatives = [token, `${token.trim()}!`, `_${token.trim()}`, token.toUpperCase()].slice(0, top).map((t, k) => ({ token: t, logprob: logprob - k }));
    return { token, logprob, top_logprobs: alternatives };
  });
}

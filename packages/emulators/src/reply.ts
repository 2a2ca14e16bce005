import { createHash } from 'node:crypto';

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
  return `Echo from ${prompt.model}: ${prompt.lastUserText}${seen}`;
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

/** A unit vector derived from the model and the text: equal inputs, equal vectors. */
export function embedText(model: string, text: string, dimensions: number): number[] {
  const values: number[] = [];
  let block = 0;
  while (values.length < dimensions) {
    const digest = createHash('sha256').update(`${model}\u0000${text}\u0000${block++}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) {
      values.push(digest.readUInt32LE(i) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1;
  return values.map((v) => v / norm);
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

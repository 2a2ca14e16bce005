import type { HopPayload, Work } from './payloads.js';

/** The usual rule of thumb for English text and code under BPE tokenizers. */
const CHARS_PER_TOKEN = 4;
/** Chat templates add a few tokens per message (role markers). */
const TOKENS_PER_MESSAGE = 4;
/** An image costs a model several hundred tokens (Gemini 258 per tile, Gemma 3 256, LLaVA 576, OpenAI up to ~765). */
const TOKENS_PER_IMAGE = 768;

/** A rough count of a chat request's prompt tokens, without a tokenizer: enough to see that 40k tokens will not fit in 4k. */
export function estimatePromptTokens(work: Extract<Work, { kind: 'chat' }>): number {
  let chars = 0;
  let images = 0;
  for (const m of work.messages) {
    if (typeof m.content === 'string') chars += m.content.length;
    else
      for (const part of m.content) {
        if (part.type === 'text') chars += part.text.length;
        else images++;
      }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN) + work.messages.length * TOKENS_PER_MESSAGE + images * TOKENS_PER_IMAGE;
}

/**
 * Why this hop's target cannot take the request, if it cannot: the prompt
 * (and the answer it asks room for) is estimated past the model's declared
 * context, or an earlier target found the prompt too long and a later one
 * has `long_context`. Undefined when nothing says it cannot.
 */
export function unfitReason(payload: HopPayload): string | undefined {
  const { target, work } = payload;
  if (payload.needsLongContext && !target.longContext && payload.chain.slice(payload.hop + 1).some((t) => t.longContext)) {
    return 'an earlier target found the prompt too long, and a later one has long_context';
  }
  if (target.context === undefined || work.kind !== 'chat') return undefined;
  const prompt = estimatePromptTokens(work);
  const answer = work.params.maxTokens ?? 0;
  if (prompt + answer <= target.context) return undefined;
  return `the prompt is estimated at ${prompt} tokens${answer ? ` (+${answer} for the answer)` : ''}, over the model's context of ${target.context}`;
}

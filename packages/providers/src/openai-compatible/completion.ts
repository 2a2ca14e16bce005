import type OpenAI from 'openai';
import { textOf } from '../messages.js';
import type { ChatRequest } from '../types.js';

/** A legacy completion → a /v1/completions body: the prompt (with any text a continuation carries) and the suffix for fill-in-the-middle. */
export function toOpenAICompletion(request: ChatRequest): OpenAI.Completions.CompletionCreateParamsNonStreaming {
  const params = request.params ?? {};
  return {
    model: request.model,
    prompt: request.messages.map((m) => textOf(m.content)).join(''),
    ...(params.completion?.suffix !== undefined ? { suffix: params.completion.suffix } : {}),
    ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.topP !== undefined ? { top_p: params.topP } : {}),
    ...(params.stop !== undefined ? { stop: [...params.stop] } : {}),
    ...(params.seed !== undefined ? { seed: params.seed } : {}),
  };
}

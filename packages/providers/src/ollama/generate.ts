import type { GenerateRequest, GenerateResponse } from 'ollama';
import { textOf } from '../messages.js';
import type { ChatRequest, ChatResult } from '../types.js';
import { loadOf } from './chat.js';

/**
 * A legacy completion as Ollama's /api/generate: the prompt (and any text a
 * continuation carries) in raw mode, so the model continues it as written;
 * with a suffix, the model's own fill-in-the-middle template (raw off: Ollama
 * answers "does not support insert" for a model without one).
 */
export function toOllamaGenerate(request: ChatRequest): GenerateRequest {
  const params = request.params ?? {};
  const prompt = request.messages.map((m) => textOf(m.content)).join('');
  const suffix = params.completion?.suffix;
  return {
    model: request.model,
    prompt,
    ...(suffix !== undefined ? { suffix } : { raw: true }),
    options: {
      ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
      ...(params.topP !== undefined ? { top_p: params.topP } : {}),
      ...(params.maxTokens !== undefined ? { num_predict: params.maxTokens } : {}),
      ...(params.stop !== undefined ? { stop: [...params.stop] } : {}),
      ...(params.seed !== undefined ? { seed: params.seed } : {}),
    },
  };
}

export function toGenerateResult(response: GenerateResponse, content: string): ChatResult {
  return {
    model: response.model,
    content,
    finishReason: response.done_reason === 'length' ? 'length' : 'stop',
    usage: { promptTokens: response.prompt_eval_count ?? 0, completionTokens: response.eval_count ?? 0 },
    ...loadOf(response.load_duration),
  };
}

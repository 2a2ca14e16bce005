import type { ChatResultBody, Done } from '@mana/jobs';
import { argumentsObject } from '@mana/providers';

/** The model an Ollama client is told answered: the Ollama model's own name on a GPU, `provider/model` when a fallback answered. */
export function ollamaModelName(done: Pick<Done, 'provider' | 'model'>): string {
  return done.provider === 'ollama' ? done.model : `${done.provider}/${done.model}`;
}

export type Route = 'chat' | 'generate';

/** One streamed piece, as Ollama writes it: a chat `message`, or a generate `response`. */
export function deltaFrame(route: Route, model: string, content: string) {
  return { model, created_at: new Date().toISOString(), ...(route === 'chat' ? { message: { role: 'assistant', content } } : { response: content }), done: false };
}

/**
 * The last object: the whole message (non-streamed) or an empty one, with
 * Ollama's counters (durations in nanoseconds, as Ollama reports them).
 */
export function doneFrame(route: Route, done: Done, startedAt: number, content: string) {
  const result = done.result as ChatResultBody;
  const totalNs = Math.round((performance.now() - startedAt) * 1e6);
  const calls = result.toolCalls?.map((c) => ({ function: { name: c.name, arguments: argumentsObject(c) } }));
  return {
    model: ollamaModelName(done),
    created_at: new Date().toISOString(),
    ...(route === 'chat' ? { message: { role: 'assistant', content, ...(calls?.length ? { tool_calls: calls } : {}) } } : { response: content }),
    done: true,
    done_reason: result.finishReason === 'length' ? 'length' : 'stop',
    total_duration: totalNs,
    load_duration: 0,
    prompt_eval_count: done.usage.promptTokens,
    prompt_eval_duration: 0,
    eval_count: done.usage.completionTokens,
    eval_duration: totalNs,
  };
}

/** What Ollama answers to a request with no prompt: the model is (said to be) loaded. */
export function loadedFrame(route: Route, model: string) {
  return {
    model,
    created_at: new Date().toISOString(),
    ...(route === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }),
    done: true,
    done_reason: 'load',
  };
}

/** Ollama's error body: `{"error": "…"}`, which its clients print as the message. */
export function ollamaErrorBody(error: { message: string }) {
  return { error: error.message };
}

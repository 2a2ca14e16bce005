import { type SerializedError, httpStatusOf } from '@mana/errors';
import type { JobEvent } from '@mana/jobs';

type Done = Extract<JobEvent, { type: 'done' }>;

export interface ChatResultBody {
  content: string;
  finishReason: string;
}

export function completionId(jobId: string): string {
  return `chatcmpl-${jobId}`;
}

/** The model name clients see: the target that answered, as `provider/model`. */
export function answeredModel(done: Done): string {
  return `${done.provider}/${done.model}`;
}

export function chatCompletionBody(jobId: string, done: Done, created: number) {
  const result = done.result as ChatResultBody;
  return {
    id: completionId(jobId),
    object: 'chat.completion',
    created,
    model: answeredModel(done),
    choices: [{ index: 0, message: { role: 'assistant', content: result.content, refusal: null }, logprobs: null, finish_reason: result.finishReason }],
    usage: usageBody(done),
  };
}

export function usageBody(done: Done) {
  return { prompt_tokens: done.usage.promptTokens, completion_tokens: done.usage.completionTokens, total_tokens: done.usage.promptTokens + done.usage.completionTokens };
}

export function embeddingsBody(done: Done, encoding: 'float' | 'base64') {
  const { embeddings } = done.result as { embeddings: number[][] };
  return {
    object: 'list',
    data: embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      // The openai SDK asks for base64 by default and decodes little-endian float32.
      embedding: encoding === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
    })),
    model: answeredModel(done),
    usage: { prompt_tokens: done.usage.promptTokens, total_tokens: done.usage.promptTokens },
  };
}

/** OpenAI's error envelope; `type` follows OpenAI's coarse split of client and server errors. */
export function errorBody(error: Pick<SerializedError, 'code' | 'message'>, param: string | null = null) {
  const status = httpStatusOf(error.code);
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status < 500 ? 'invalid_request_error' : 'api_error';
  return { error: { message: error.message, type, param, code: error.code } };
}

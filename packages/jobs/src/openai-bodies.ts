import { embeddingsBase64, embeddingsFloat, embeddingsForJson } from './embedding-result.js';
import { jsonBytes } from './float32-json.js';
import type { JobEvent } from './events.js';

/** What a finished job's answer is built from: its `done` event, or the same fields from its record. */
export type Done = Extract<JobEvent, { type: 'done' }>;

export interface ChatResultBody {
  content: string;
  finishReason: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  logprobs?: Array<{ token: string; logprob: number; top?: Array<{ token: string; logprob: number }> }>;
}

/** OpenAI's `logprobs` of a choice (`bytes` are the token's UTF-8). */
export function logprobsBody(logprobs: ChatResultBody['logprobs']) {
  if (!logprobs?.length) return null;
  const entry = (t: { token: string; logprob: number }) => ({ token: t.token, logprob: t.logprob, bytes: [...Buffer.from(t.token, 'utf8')] });
  return { content: logprobs.map((l) => ({ ...entry(l), top_logprobs: (l.top ?? []).map(entry) })), refusal: null };
}

/** OpenAI's `tool_calls` of an assistant message. */
export function toolCallsBody(calls: NonNullable<ChatResultBody['toolCalls']>) {
  return calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
}

export function completionId(jobId: string): string {
  return `chatcmpl-${jobId}`;
}

/** The model name clients see: the target that answered, as `provider/model`. */
export function answeredModel(done: Pick<Done, 'provider' | 'model'>): string {
  return `${done.provider}/${done.model}`;
}

export function usageBody(done: Pick<Done, 'usage'>) {
  return { prompt_tokens: done.usage.promptTokens, completion_tokens: done.usage.completionTokens, total_tokens: done.usage.promptTokens + done.usage.completionTokens };
}

/** OpenAI's `chat.completion` for a finished chat job. */
export function chatCompletionBody(jobId: string, done: Done, created: number) {
  const result = done.result as ChatResultBody;
  return {
    id: completionId(jobId),
    object: 'chat.completion',
    created,
    model: answeredModel(done),
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          // OpenAI's form: no text beside tool calls is null, not "".
          content: result.toolCalls?.length && !result.content ? null : result.content,
          refusal: null,
          ...(result.toolCalls?.length ? { tool_calls: toolCallsBody(result.toolCalls) } : {}),
        },
        logprobs: logprobsBody(result.logprobs),
        finish_reason: result.finishReason,
      },
    ],
    usage: usageBody(done),
  };
}

/** OpenAI's embeddings list for a finished embedding job. */
export function embeddingsBody(done: Done, encoding: 'float' | 'base64') {
  // The openai SDK asks for base64 by default and decodes little-endian float32: the stored form.
  const vectors = encoding === 'base64' ? embeddingsBase64(done.result) : embeddingsFloat(done.result);
  return {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model: answeredModel(done),
    usage: embeddingsUsage(done),
  };
}

/**
 * embeddingsBody as JSON bytes, built around each vector: floats are written at float32
 * precision straight into the buffer (see jsonBytes), where JSON.stringify would format 12k
 * doubles to 17 digits for a 16 × 768 request, the costliest step of its answer.
 */
export function embeddingsBodyBytes(done: Done, encoding: 'float' | 'base64'): Buffer {
  const vectors = encoding === 'base64' ? embeddingsBase64(done.result).map((v) => JSON.stringify(v)) : embeddingsForJson(done.result);
  const data = vectors.flatMap((embedding, index) => [`${index > 0 ? ',' : ''}{"object":"embedding","index":${index},"embedding":`, embedding, '}']);
  return jsonBytes(['{"object":"list","data":[', ...data, `],"model":${JSON.stringify(answeredModel(done))},"usage":${JSON.stringify(embeddingsUsage(done))}}`]);
}

function embeddingsUsage(done: Done) {
  return { prompt_tokens: done.usage.promptTokens, total_tokens: done.usage.promptTokens };
}

import type { OllamaHost } from '@mana/config';
import type { AbortableAsyncIterator, Logprob, ToolCall as OllamaToolCall } from 'ollama';
import { Deadline } from '../deadline.js';
import type { MalformedChunkHook } from '../lenient-stream.js';
import type { CallOptions, ChatRequest, ChatResult, ChatStreamEvent, EmbedRequest, EmbedResult, HealthReport, ProviderAdapter } from '../types.js';
import { loadOf, toChatResult, toOllamaChat } from './chat.js';
import { createOllamaClient } from './client.js';
import { toGenerateResult, toOllamaGenerate } from './generate.js';
import { toProviderError } from './errors.js';
import { failedProbe } from '../health-report.js';

/** One Ollama GPU server, through the `ollama` SDK. */
export function createOllamaAdapter(host: OllamaHost, onMalformedChunk?: MalformedChunkHook): ProviderAdapter {
  const context = (model: string) => ({ provider: 'ollama', target: `ollama/${model}` });

  async function chat(request: ChatRequest, options?: CallOptions): Promise<ChatResult> {
    const deadline = new Deadline(options);
    try {
      const client = createOllamaClient(host.url, deadline.signal);
      if (request.params?.completion) {
        const generated = await client.generate({ ...toOllamaGenerate(request), stream: false });
        return toGenerateResult(generated, generated.response ?? '');
      }
      const response = await client.chat({ ...toOllamaChat(request), stream: false });
      return toChatResult(response, response.message.content);
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    }
  }

  async function* chatStream(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent> {
    if (request.params?.completion) {
      // A legacy completion streams from /api/generate, with the same deadlines and early abort.
      yield* streamParts(
        request,
        options,
        (client) => client.generate({ ...toOllamaGenerate(request), stream: true }),
        (part) => ({ text: part.response ?? '', progress: Boolean(part.response) }),
        toGenerateResult,
      );
      return;
    }
    const calls: OllamaToolCall[] = [];
    const logprobs: Logprob[] = [];
    yield* streamParts(
      request,
      options,
      (client) => client.chat({ ...toOllamaChat(request), stream: true }),
      (part) => {
        calls.push(...(part.message.tool_calls ?? []));
        logprobs.push(...(part.logprobs ?? []));
        return { text: part.message.content, progress: Boolean(part.message.content) || Boolean(part.message.tool_calls?.length) };
      },
      (part, content) => toChatResult(part, content, calls, logprobs),
    );
  }

  /** One of Ollama's NDJSON streams as deltas then a result, under the call's deadlines. */
  async function* streamParts<P extends { done: boolean }>(
    request: ChatRequest,
    options: CallOptions | undefined,
    start: (client: ReturnType<typeof createOllamaClient>) => Promise<AbortableAsyncIterator<P>>,
    read: (part: P) => { text: string; progress: boolean },
    result: (last: P, content: string) => ChatResult,
  ): AsyncIterable<ChatStreamEvent> {
    const deadline = new Deadline(options).streaming();
    let content = '';
    let stream: AbortableAsyncIterator<P> | undefined;
    let finished = false;
    try {
      stream = await start(createOllamaClient(host.url, deadline.signal, `ollama:${host.name}`, onMalformedChunk));
      for await (const part of stream) {
        const { text, progress } = read(part);
        deadline.progress(progress);
        if (text) {
          content += text;
          yield { type: 'delta', content: text };
        }
        if (part.done) {
          finished = true;
          yield { type: 'done', result: result(part, content) };
          return;
        }
      }
      throw deadline.abortError(context(request.model), undefined) ?? new Error('the stream ended without a done message');
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    } finally {
      deadline.finish();
      // A consumer that stops reading early must not leave the GPU generating.
      if (!finished) stream?.abort();
    }
  }

  async function embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResult> {
    const deadline = new Deadline(options);
    try {
      const client = createOllamaClient(host.url, deadline.signal);
      const response = await client.embed({
        model: request.model,
        input: [...request.input],
        ...(request.dimensions ? { dimensions: request.dimensions } : {}),
      });
      return { model: response.model, embeddings: response.embeddings, usage: { promptTokens: response.prompt_eval_count ?? 0 }, ...loadOf(response.load_duration) };
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    }
  }

  async function health(options?: CallOptions): Promise<HealthReport> {
    const deadline = new Deadline({ timeoutMs: 2_000, ...options });
    try {
      const client = createOllamaClient(host.url, deadline.signal);
      // Reachable and answering is "up". What is loaded is extra knowledge: a server (or a proxy
      // in front of it) that serves chat but not /api/ps is up, with its loaded models unknown.
      const [version, ps, tags] = await Promise.all([client.version(), client.ps().catch(() => undefined), client.list().catch(() => undefined)]);
      const models = tags ? { models: tags.models.map((m) => m.name) } : {};
      if (!ps) return { ok: true, detail: `ollama ${version.version} (loaded models unknown: /api/ps did not answer)`, ...models };
      return { ok: true, detail: `ollama ${version.version}`, loadedModels: ps.models.map((m) => m.name), ...models };
    } catch (err) {
      return failedProbe(toProviderError(err, { provider: 'ollama', target: `ollama@${host.name}` }, deadline));
    }
  }

  return { id: 'ollama', endpoint: `ollama:${host.name}`, chat, chatStream, embed, health };
}

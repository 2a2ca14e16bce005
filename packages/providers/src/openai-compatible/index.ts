import OpenAI from 'openai';
import type { OllamaHost, ProviderId } from '@mana/config';
import { ProviderError } from '@mana/errors';
import { DEFAULT_TIMEOUT_MS, Deadline } from '../deadline.js';
import { type MalformedChunkHook, skippingMalformedEvents } from '../lenient-stream.js';
import type { CallOptions, ChatRequest, ChatResult, ChatStreamEvent, EmbedRequest, EmbedResult, HealthReport, ProviderAdapter, TokenLogprob } from '../types.js';
import { ToolCallAssembler, logprobsOf, toFinishReason, toOpenAIChat, toolCallsOf } from './chat.js';
import { toOpenAICompletion } from './completion.js';
import { fromErrorBody, toProviderError } from './errors.js';
import { failedProbe } from '../health-report.js';

export interface OpenAICompatibleOptions {
  id: ProviderId;
  apiKey: string | undefined;
  baseUrl: string;
  /** Sent on every request, e.g. OpenRouter's HTTP-Referer and X-Title. */
  headers?: Record<string, string>;
  /** `ollama:gpu0` for a local engine; the provider id for a cloud API. */
  endpoint?: string;
  /**
   * A local engine (vLLM, llama.cpp, SGLang) is probed: GET /v1/models says
   * it is up and what it serves. A cloud API is never probed (each call costs).
   */
  probe?: boolean;
  onMalformedChunk?: MalformedChunkHook | undefined;
}

/** An OpenAI-compatible inference engine on one of the fleet's GPU servers. */
export function createLocalEngineAdapter(host: OllamaHost, onMalformedChunk?: MalformedChunkHook): ProviderAdapter {
  // Such servers take any key unless started with one; the SDK insists on some string.
  return createOpenAICompatibleAdapter({ id: 'ollama', apiKey: 'local', baseUrl: `${host.url}/v1`, endpoint: `ollama:${host.name}`, probe: true, onMalformedChunk });
}

/** OpenRouter, Groq and Together: one adapter over the `openai` SDK, three configurations. */
export function createOpenAICompatibleAdapter(options: OpenAICompatibleOptions): ProviderAdapter {
  const { id } = options;
  // maxRetries 0: the gateway owns retries; the SDK's two would hide which target failed.
  const client = options.apiKey
    ? new OpenAI({
        apiKey: options.apiKey,
        baseURL: options.baseUrl,
        maxRetries: 0,
        timeout: DEFAULT_TIMEOUT_MS,
        defaultHeaders: options.headers,
        fetch: skippingMalformedEvents(globalThis.fetch, options.endpoint ?? id, options.onMalformedChunk),
      })
    : undefined;
  const context = (model: string) => ({ provider: id, target: `${id}/${model}` });

  function requireClient(model: string): OpenAI {
    if (client) return client;
    throw new ProviderError('provider_auth', `${id}: no API key configured (set ${id.toUpperCase()}_API_KEY)`, context(model));
  }

  async function chat(request: ChatRequest, callOptions?: CallOptions): Promise<ChatResult> {
    const deadline = new Deadline(callOptions);
    try {
      if (request.params?.completion) {
        const completion = await requireClient(request.model).completions.create(toOpenAICompletion(request), { signal: deadline.signal, timeout: deadline.timeoutMs });
        const choice = completion.choices[0];
        return {
          model: completion.model,
          content: choice?.text ?? '',
          finishReason: toFinishReason(choice?.finish_reason),
          usage: { promptTokens: completion.usage?.prompt_tokens ?? 0, completionTokens: completion.usage?.completion_tokens ?? 0 },
        };
      }
      const completion = await requireClient(request.model).chat.completions.create(toOpenAIChat(request), {
        signal: deadline.signal,
        timeout: deadline.timeoutMs,
      });
      // OpenRouter may answer 200 with {"error":{…}} and no choices; the SDK returns it as is.
      const body = completion as unknown as { error?: unknown; choices?: unknown };
      if (body.error || !Array.isArray(body.choices)) throw fromErrorBody(body.error, context(request.model));
      const choice = completion.choices[0];
      const toolCalls = toolCallsOf(choice?.message);
      const logprobs = logprobsOf(choice?.logprobs?.content);
      return {
        model: completion.model,
        content: choice?.message.content ?? '',
        finishReason: toFinishReason(choice?.finish_reason),
        usage: { promptTokens: completion.usage?.prompt_tokens ?? 0, completionTokens: completion.usage?.completion_tokens ?? 0 },
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
        ...(logprobs.length > 0 ? { logprobs } : {}),
      };
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    }
  }

  async function* chatStream(request: ChatRequest, callOptions?: CallOptions): AsyncIterable<ChatStreamEvent> {
    if (request.params?.completion) {
      yield* streamChunks(
        request,
        callOptions,
        (options) => requireClient(request.model).completions.create({ ...toOpenAICompletion(request), stream: true, stream_options: { include_usage: true } }, options),
        (choice) => ({ text: choice?.text ?? '', progress: Boolean(choice?.text) }),
        () => ({}),
      );
      return;
    }
    const calls = new ToolCallAssembler();
    const logprobs: TokenLogprob[] = [];
    yield* streamChunks(
      request,
      callOptions,
      (options) => requireClient(request.model).chat.completions.create({ ...toOpenAIChat(request), stream: true, stream_options: { include_usage: true } }, options),
      (choice) => {
        calls.add(choice?.delta.tool_calls);
        logprobs.push(...logprobsOf(choice?.logprobs?.content));
        return { text: choice?.delta.content ?? '', progress: Boolean(choice?.delta.content) || Boolean(choice?.delta.tool_calls?.length) };
      },
      () => ({ ...(calls.all.length > 0 ? { toolCalls: calls.all } : {}), ...(logprobs.length > 0 ? { logprobs } : {}) }),
    );
  }

  /** A chat or completions stream as deltas then a result, under the call's deadlines. */
  async function* streamChunks<C extends { finish_reason?: string | null }>(
    request: ChatRequest,
    callOptions: CallOptions | undefined,
    start: (options: { signal: AbortSignal; timeout: number | undefined }) => Promise<AsyncIterable<{ model: string; choices: C[]; usage?: OpenAI.CompletionUsage | null }>>,
    read: (choice: C | undefined) => { text: string; progress: boolean },
    extra: () => Partial<ChatResult>,
  ): AsyncIterable<ChatStreamEvent> {
    const deadline = new Deadline(callOptions).streaming();
    let content = '';
    let model = request.model;
    let finishReason: string | null | undefined;
    let usage = { promptTokens: 0, completionTokens: 0 };
    let chunks = 0;
    try {
      const stream = await start({ signal: deadline.signal, timeout: deadline.timeoutMs });
      for await (const chunk of stream) {
        chunks++;
        model = chunk.model || model;
        const choice = chunk.choices[0];
        const { text, progress } = read(choice);
        deadline.progress(progress);
        if (text) {
          content += text;
          yield { type: 'delta', content: text };
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
      }
      const stopped = deadline.abortError(context(request.model), undefined);
      if (stopped) throw stopped;
      // No event at all (e.g. a JSON body where a stream was asked): a failure, never an empty answer.
      if (chunks === 0) throw new ProviderError('provider_unavailable', `${context(request.model).target} answered its stream with no events`, context(request.model));
      yield { type: 'done', result: { model, content, finishReason: toFinishReason(finishReason), usage, ...extra() } };
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    } finally {
      deadline.finish();
    }
  }

  async function embed(request: EmbedRequest, callOptions?: CallOptions): Promise<EmbedResult> {
    const deadline = new Deadline(callOptions);
    try {
      // encoding_format 'float' explicitly: left out, the SDK asks for base64 and decodes it itself.
      const response = await requireClient(request.model).embeddings.create(
        {
          model: request.model,
          input: [...request.input],
          encoding_format: 'float',
          ...(request.dimensions ? { dimensions: request.dimensions } : {}),
        },
        { signal: deadline.signal, timeout: deadline.timeoutMs },
      );
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return { model: response.model, embeddings: vectors, usage: { promptTokens: response.usage?.prompt_tokens ?? 0 } };
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    }
  }

  /** A cloud API: no network, a probe would cost money (real traffic feeds the circuit breaker instead). */
  async function health(callOptions?: CallOptions): Promise<HealthReport> {
    if (options.probe && client) return probeEngine(client, callOptions);
    return client ? { ok: true, detail: 'configured (passive: judged by real traffic)' } : { ok: false, detail: `no ${id.toUpperCase()}_API_KEY` };
  }

  async function probeEngine(engine: OpenAI, callOptions?: CallOptions): Promise<HealthReport> {
    const deadline = new Deadline({ timeoutMs: 2_000, ...callOptions });
    try {
      const list = await engine.models.list({ signal: deadline.signal, timeout: deadline.timeoutMs });
      const models = list.data.map((m) => m.id);
      // Such an engine holds every model it lists in memory: nothing to load, nothing to swap.
      return { ok: true, detail: `OpenAI-compatible engine serving ${models.length} model(s)`, models, loadedModels: models };
    } catch (err) {
      return failedProbe(toProviderError(err, { provider: id, target: options.endpoint ?? id }, deadline));
    }
  }

  return { id, endpoint: options.endpoint ?? id, chat, chatStream, embed, health };
}

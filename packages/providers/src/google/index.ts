import { type FunctionCall, GoogleGenAI } from '@google/genai';
import { ProviderError } from '@mana/errors';
import { Deadline } from '../deadline.js';
import { type MalformedChunkHook, skippingMalformedEvents } from '../lenient-stream.js';
import type { CallOptions, ChatRequest, ChatResult, ChatStreamEvent, EmbedRequest, EmbedResult, HealthReport, ProviderAdapter } from '../types.js';
import { functionCallsOf, textOfResponse, toChatResult, toGeminiChat } from './chat.js';
import { toProviderError } from './errors.js';

export interface GoogleAdapterOptions {
  apiKey: string | undefined;
  baseUrl: string;
  onMalformedChunk?: MalformedChunkHook | undefined;
}

/** Google Gemini (the Developer API, never Vertex) through @google/genai. */
export function createGoogleAdapter(options: GoogleAdapterOptions): ProviderAdapter {
  // No retryOptions: the SDK then makes exactly one attempt and the gateway owns retries.
  const fetch = skippingMalformedEvents(globalThis.fetch, 'google', options.onMalformedChunk);
  const client = options.apiKey ? new GoogleGenAI({ apiKey: options.apiKey, vertexai: false, httpOptions: { baseUrl: options.baseUrl, fetch } }) : undefined;
  const context = (model: string) => ({ provider: 'google', target: `google/${model}` });

  /** Routing sends legacy completions only to providers that have them; this says so if one arrives anyway. */
  function refuseCompletion(request: ChatRequest): void {
    if (request.params?.completion)
      throw new ProviderError('model_unavailable', `google/${request.model}: Gemini has no text-completion API (/v1/completions)`, context(request.model));
  }

  function requireClient(model: string): GoogleGenAI {
    if (client) return client;
    throw new ProviderError('provider_auth', 'google: no API key configured (set GOOGLE_API_KEY)', context(model));
  }

  async function chat(request: ChatRequest, callOptions?: CallOptions): Promise<ChatResult> {
    const deadline = new Deadline(callOptions);
    try {
      refuseCompletion(request);
      const { contents, config } = toGeminiChat(request, deadline.signal);
      const response = await requireClient(request.model).models.generateContent({ model: request.model, contents, config });
      return toChatResult(response, textOfResponse(response), request.model);
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    }
  }

  async function* chatStream(request: ChatRequest, callOptions?: CallOptions): AsyncIterable<ChatStreamEvent> {
    const deadline = new Deadline(callOptions).streaming();
    let content = '';
    try {
      refuseCompletion(request);
      const { contents, config } = toGeminiChat(request, deadline.signal);
      const stream = await requireClient(request.model).models.generateContentStream({ model: request.model, contents, config });
      let last;
      const calls: FunctionCall[] = [];
      for await (const chunk of stream) {
        last = chunk;
        const text = textOfResponse(chunk);
        const called = functionCallsOf(chunk);
        calls.push(...called);
        deadline.progress(Boolean(text) || called.length > 0);
        if (text) {
          content += text;
          yield { type: 'delta', content: text };
        }
      }
      const stopped = deadline.abortError(context(request.model), undefined);
      if (stopped) throw stopped;
      if (!last) throw new ProviderError('provider_unavailable', `google/${request.model} sent an empty stream`, context(request.model));
      yield { type: 'done', result: toChatResult(last, content, request.model, calls) };
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    } finally {
      deadline.finish();
    }
  }

  async function embed(request: EmbedRequest, callOptions?: CallOptions): Promise<EmbedResult> {
    const deadline = new Deadline(callOptions);
    try {
      const ai = requireClient(request.model);
      const config = { abortSignal: deadline.signal, ...(request.dimensions ? { outputDimensionality: request.dimensions } : {}) };
      // gemini-embedding-2 merges an array of texts into ONE content: one call per text there.
      const batches = request.model.includes('gemini-embedding-2') ? request.input.map((t) => [t]) : [request.input];
      const embeddings: number[][] = [];
      for (const batch of batches) {
        const response = await ai.models.embedContent({ model: request.model, contents: [...batch], config });
        for (const e of response.embeddings ?? []) embeddings.push(e.values ?? []);
      }
      if (embeddings.length !== request.input.length) {
        throw new ProviderError('provider_unavailable', `google/${request.model} returned ${embeddings.length} vectors for ${request.input.length} inputs`, context(request.model));
      }
      return { model: request.model, embeddings, usage: { promptTokens: 0 } };
    } catch (err) {
      throw toProviderError(err, context(request.model), deadline);
    }
  }

  /** No network: a probe would cost quota. Real traffic feeds the circuit breaker instead. */
  async function health(): Promise<HealthReport> {
    return client ? { ok: true, detail: 'configured (passive: judged by real traffic)' } : { ok: false, detail: 'no GOOGLE_API_KEY' };
  }

  return { id: 'google', endpoint: 'google', chat, chatStream, embed, health };
}

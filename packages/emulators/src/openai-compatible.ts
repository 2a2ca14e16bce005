import { randomUUID } from 'node:crypto';
import type { OpenAICompatibleId } from '@mana/config';
import { Gpu } from './gpu.js';
import { HttpError, cutConnection, pause, sendJson } from './http.js';
import { DEFAULT_DIMENSIONS, type EmulatedModel, shippedModels } from './models.js';
import { type Prompt, countWords, embedText, generate, tokenLogprobs, toolCallsFor } from './reply.js';
import { Emulator, type Handler, type ListenOptions, type ProviderProtocol, type RequestContext } from './server.js';
import { type TimingOptions, generationMs, playTokens } from './timing.js';
import { type CompletionBody, serveCompletion } from './openai-completions.js';
import { callTools, withBytes } from './openai-tools-logprobs.js';

const PROVIDERS: readonly OpenAICompatibleId[] = ['openrouter', 'groq', 'together'];

export interface OpenAICompatibleEmulatorOptions extends TimingOptions, ListenOptions {
  /** The bearer key clients must send; undefined accepts any non-empty key. */
  apiKey?: string;
  /** Models per provider. @defaultValue each provider's models in the shipped aliases.yaml, plus one embedding model */
  models?: Partial<Record<OpenAICompatibleId, EmulatedModel[]>>;
  /**
   * Serve as a local inference engine on one GPU instead (vLLM, llama.cpp's
   * server, SGLang): only `/v1`, these models, no API key, vLLM's error body,
   * and at most `slots` requests generating at once (the rest wait).
   */
  localEngine?: { models: EmulatedModel[]; slots?: number; modelTimings?: Record<string, TimingOptions> };
}

type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
interface ChatBody {
  model?: string;
  messages?: Array<{ role?: string; content?: string | ContentPart[] | null }>;
  tools?: Array<{ type?: string; function?: { name?: string; parameters?: unknown } }>;
  tool_choice?: 'auto' | 'none' | 'required' | { type?: string; function?: { name?: string } };
  parallel_tool_calls?: boolean;
  logprobs?: boolean;
  top_logprobs?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  response_format?: { type?: string };
  input?: string | string[];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
}

/**
 * OpenRouter, Groq and Together on one server, each under its own prefix
 * (`/openrouter/v1`, `/groq/v1`, `/together/v1`), plus `/v1` serving them all.
 */
export class OpenAICompatibleEmulator extends Emulator {
  constructor(readonly options: OpenAICompatibleEmulatorOptions = {}) {
    const protocol = new OpenAIProtocol(options);
    super(protocol);
    protocol.attach(this);
  }

  /** The base URL to give the openai SDK for one provider. */
  baseUrlFor(provider: OpenAICompatibleId): string {
    return `${this.url}/${provider}/v1`;
  }
}

export async function startOpenAICompatibleEmulator(options: OpenAICompatibleEmulatorOptions = {}): Promise<OpenAICompatibleEmulator> {
  return new OpenAICompatibleEmulator(options).listen(options);
}

export function openaiError(status: number, message: string, code: string | number | null = null): unknown {
  const type = status === 401 ? 'invalid_request_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code } };
}

const ROUTE = /^(?:\/(openrouter|groq|together))?\/v1\/(chat\/completions|completions|embeddings|models)$/;

class OpenAIProtocol implements ProviderProtocol {
  readonly name: string;
  private readonly models: Record<OpenAICompatibleId, EmulatedModel[]>;
  private readonly gpu: Gpu | undefined;
  private emulator: Emulator | undefined;

  constructor(private readonly options: OpenAICompatibleEmulatorOptions) {
    this.name = options.localEngine ? 'local-engine' : 'openai-compatible';
    this.gpu = options.localEngine ? new Gpu({ slots: options.localEngine.slots ?? 256 }, () => new HttpError(503, openaiError(503, 'busy'))) : undefined;
    const defaults = (id: OpenAICompatibleId) => [...shippedModels(id), { name: 'text-embedding-3-small', kind: 'embedding' as const, dimensions: 1536 }];
    this.models = { openrouter: defaults('openrouter'), groq: defaults('groq'), together: defaults('together'), ...options.models };
  }

  route(method: string, path: string): Handler | undefined {
    if (this.options.localEngine && method === 'GET' && path === '/health') return async ({ res }) => void res.writeHead(200).end();
    const match = ROUTE.exec(path);
    if (!match || (this.options.localEngine && match[1])) return undefined;
    const provider = match[1] as OpenAICompatibleId | undefined;
    const endpoint = match[2];
    if (method === 'GET' && endpoint === 'models') {
      return async (ctx) => {
        this.authorize(ctx);
        sendJson(ctx.res, 200, { object: 'list', data: this.modelsOf(provider).map((m) => ({ id: m.name, object: 'model', owned_by: provider ?? 'emulator' })) });
      };
    }
    if (method !== 'POST' || endpoint === 'models') return undefined;
    return async (ctx) => {
      this.authorize(ctx);
      if (endpoint === 'completions') return this.onGpu(ctx, () => this.complete(ctx, provider));
      return this.onGpu(ctx, () => (endpoint === 'embeddings' ? this.embed(ctx, provider) : this.chat(ctx, provider)));
    };
  }

  attach(emulator: Emulator): void {
    this.emulator = emulator;
  }

  /** A local engine generates at most `slots` requests at once; a cloud API has no such limit here. */
  private async onGpu(ctx: RequestContext, work: () => Promise<void>): Promise<void> {
    if (!this.gpu) return work();
    const release = await this.gpu.acquire(ctx.signal).catch(() => undefined);
    if (!release) return;
    const idle = this.emulator?.stats.busy();
    try {
      await work();
    } finally {
      idle?.();
      release();
    }
  }

  private timing(model: EmulatedModel): TimingOptions {
    return { ...this.options, ...this.options.localEngine?.modelTimings?.[model.name] };
  }

  errorBody(status: number, message: string | undefined): unknown {
    return openaiError(status, message ?? `emulated error ${status}`, status === 429 ? 'rate_limit_exceeded' : null);
  }

  modelOf(_path: string, body: unknown): string | undefined {
    return (body as ChatBody | undefined)?.model;
  }

  isStream(_path: string, body: unknown): boolean {
    return (body as ChatBody | undefined)?.stream === true;
  }

  private modelsOf(provider: OpenAICompatibleId | undefined): EmulatedModel[] {
    if (this.options.localEngine) return this.options.localEngine.models;
    return provider ? this.models[provider] : PROVIDERS.flatMap((p) => this.models[p]);
  }

  private authorize({ req }: RequestContext): void {
    if (this.options.localEngine) return; // a local engine started without --api-key takes any
    const auth = req.headers.authorization ?? '';
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (key === '' || (this.options.apiKey !== undefined && key !== this.options.apiKey)) {
      throw new HttpError(401, openaiError(401, 'Invalid API key provided.', 'invalid_api_key'));
    }
  }

  private find(provider: OpenAICompatibleId | undefined, name: string | undefined, kind: 'chat' | 'embedding'): EmulatedModel {
    if (!name) throw new HttpError(400, openaiError(400, 'you must provide a model parameter', 'invalid_request_error'));
    const model = this.modelsOf(provider).find((m) => m.name === name && m.kind === kind);
    if (!model && this.options.localEngine) {
      // vLLM's own body for a model it does not serve (wrapped in "error" since it follows OpenAI's shape).
      throw new HttpError(404, { error: { message: `The model \`${name}\` does not exist.`, type: 'NotFoundError', param: null, code: 404 } });
    }
    if (!model) throw new HttpError(404, openaiError(404, `The model \`${name}\` does not exist or you do not have access to it.`, 'model_not_found'));
    return model;
  }

  private async chat(ctx: RequestContext, provider: OpenAICompatibleId | undefined): Promise<void> {
    const body = ctx.body as ChatBody;
    const model = this.find(provider, body.model, 'chat');
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new HttpError(400, openaiError(400, "'messages' must contain at least one message", 'invalid_request_error'));
    }
    const prompt = toPrompt(body, model.name);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    this.refuseLongPrompt(model, prompt.promptWords, maxTokens ?? 0);
    const gen = generate(prompt, maxTokens);
    const id = `chatcmpl-${randomUUID().slice(0, 12)}`;
    const created = Math.floor(Date.now() / 1000);
    const finish = gen.finishReason;
    const usage = { prompt_tokens: gen.promptTokens, completion_tokens: gen.tokens.length, total_tokens: gen.promptTokens + gen.tokens.length };

    const calls = toolCallsFor(prompt);
    if (calls.length > 0) return callTools(ctx, body, model, this.timing(model), calls, { id, created, usage });
    if (ctx.fault?.mode === 'error-200') {
      return sendJson(ctx.res, 200, { error: { code: ctx.fault.status ?? 502, message: ctx.fault.message ?? 'Upstream error from provider' }, id, object: 'chat.completion' });
    }
    if (!body.stream) {
      await pause(generationMs(gen.tokens.length, this.timing(model)), ctx.signal);
      if (ctx.signal.aborted) return;
      return sendJson(
        ctx.res,
        200,
        {
          id,
          object: 'chat.completion',
          created,
          model: model.name,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: gen.tokens.join(''), refusal: null },
              logprobs: body.logprobs ? { content: withBytes(tokenLogprobs(gen.tokens, body.top_logprobs ?? 0)), refusal: null } : null,
              finish_reason: finish,
            },
          ],
          usage,
          system_fingerprint: 'fp_emulator',
        },
        { 'x-request-id': `req_${id}` },
      );
    }
    const chunk = (delta: object, finishReason: string | null, extra: object = {}, logprobs: unknown = undefined) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: model.name,
      choices: [{ index: 0, delta, ...(logprobs ? { logprobs: { content: logprobs, refusal: null } } : {}), finish_reason: finishReason }],
      ...extra,
    });
    const logprobsAt = (i: number) => (body.logprobs ? withBytes(tokenLogprobs(gen.tokens, body.top_logprobs ?? 0).slice(i, i + 1)) : undefined);
    const send = (obj: unknown) => ctx.res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (provider === 'openrouter') ctx.res.write(': OPENROUTER PROCESSING\n\n');
    send(chunk({ role: 'assistant', content: '' }, null));
    const end = await playTokens(
      gen.tokens,
      this.timing(model),
      ctx.signal,
      ctx.fault,
      (token, i) => send(chunk({ content: token }, null, {}, logprobsAt(i))),
      () => ctx.res.write(`data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\n\n`),
    );
    if (end === 'drop') return cutConnection(ctx.res);
    if (end === 'error') {
      send({ ...chunk({}, 'error'), error: { code: 502, message: ctx.fault?.message ?? 'Upstream provider error mid-stream' } });
      return void ctx.res.end();
    }
    if (end === 'complete') {
      send(chunk({}, finish));
      if (body.stream_options?.include_usage) send({ ...chunk({}, null), choices: [], usage });
      send('[DONE]');
    }
    ctx.res.end();
  }

  /** Legacy completions; Groq retired them and answers its unknown-URL 404. */
  private async complete(ctx: RequestContext, provider: OpenAICompatibleId | undefined): Promise<void> {
    if (provider === 'groq') {
      const message = 'Unknown request URL: POST /openai/v1/completions. Please check the URL for typos, or see the docs at https://console.groq.com/docs/';
      throw new HttpError(404, { error: { message, type: 'invalid_request_error', code: 'unknown_url' } });
    }
    const body = ctx.body as CompletionBody;
    const model = this.find(provider, body.model, 'chat');
    await serveCompletion(ctx, body, model, this.timing(model));
  }

  /** The context-length 400 in the server's own words: OpenAI's (Groq, OpenRouter, Together) or vLLM's. */
  private refuseLongPrompt(model: EmulatedModel, promptTokens: number, maxTokens: number): void {
    const limit = model.contextTokens;
    if (limit === undefined || promptTokens + maxTokens <= limit) return;
    if (this.options.localEngine) {
      const message = `This model's maximum context length is ${limit} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`;
      throw new HttpError(400, { object: 'error', message, type: 'BadRequestError', param: null, code: 400 });
    }
    const message = `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`;
    throw new HttpError(400, { error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
  }

  private async embed(ctx: RequestContext, provider: OpenAICompatibleId | undefined): Promise<void> {
    const body = ctx.body as ChatBody;
    const model = this.find(provider, body.model, 'embedding');
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(inputs) || inputs.length === 0) throw new HttpError(400, openaiError(400, "'input' must be a non-empty string or array", 'invalid_request_error'));
    await pause(this.timing(model).timeToFirstTokenMs ?? 0, ctx.signal);
    if (ctx.signal.aborted) return;
    const dims = body.dimensions ?? model.dimensions ?? DEFAULT_DIMENSIONS;
    // The SDK asks for base64 unless told otherwise, and decodes little-endian float32.
    const encode = (v: number[]) => (body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v);
    const tokens = inputs.reduce((n, t) => n + countWords(String(t)), 0);
    sendJson(ctx.res, 200, {
      object: 'list',
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: encode(embedText(model.name, String(text), dims)) })),
      model: model.name,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }
}

function toPrompt(body: ChatBody, model: string): Prompt {
  const messages = body.messages ?? [];
  const text = (content: string | ContentPart[] | null | undefined) =>
    typeof content === 'string'
      ? content
      : (content ?? [])
          .filter((p) => p.type === 'text')
          .map((p) => (p as { text: string }).text)
          .join('\n');
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const last = messages.at(-1);
  const choice = body.tool_choice;
  return {
    model,
    ...(last?.role === 'assistant' ? { prefix: text(last.content) } : {}),
    ...(last?.role === 'tool' ? { toolResult: text(last.content) } : {}),
    tools: (body.tools ?? []).map((t) => ({ name: t.function?.name ?? '', parameters: t.function?.parameters })),
    toolChoice: typeof choice === 'object' ? { name: choice.function?.name ?? '' } : choice,
    parallelToolCalls: body.parallel_tool_calls,
    lastUserText: text(lastUser?.content),
    images: Array.isArray(lastUser?.content) ? lastUser.content.filter((p) => p.type === 'image_url').length : 0,
    promptWords: messages.reduce((n, m) => n + countWords(text(m.content)), 0),
    json: body.response_format?.type === 'json_object' || body.response_format?.type === 'json_schema',
  };
}

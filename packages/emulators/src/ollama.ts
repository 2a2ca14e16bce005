import { HttpError, cutConnection, pause, sendJson, sendJsonText } from './http.js';
import { Gpu, type GpuOptions } from './gpu.js';
import { DEFAULT_DIMENSIONS, type EmulatedModel, sameOllamaModel, shippedModels } from './models.js';
import { type Prompt, countWords, embedText, embedTextJson, generate, tokenLogprobs, toolCallsFor } from './reply.js';
import { Emulator, type Handler, type ListenOptions, type ProviderProtocol, type RequestContext } from './server.js';
import { type TimingOptions, generationMs, playTokens } from './timing.js';
import { Vram } from './vram.js';

export const OLLAMA_BUSY = 'server busy, please try again.  maximum pending requests exceeded';

export interface OllamaEmulatorOptions extends GpuOptions, TimingOptions, ListenOptions {
  /** @defaultValue the ollama models of the shipped aliases.yaml */
  models?: EmulatedModel[];
  /** Time to load a cold model, during which no response header is sent. @defaultValue 0 */
  loadMs?: number;
  /** Per-model load times, overriding loadMs. */
  loadMsByModel?: Record<string, number>;
  /** Models that fit in memory at once (OLLAMA_MAX_LOADED_MODELS); loading one more evicts the least recently used. @defaultValue unbounded */
  maxLoaded?: number;
  /** Per-model service times, overriding the emulator-wide timing (a 12B model is slower than a 4B one). */
  modelTimings?: Record<string, TimingOptions>;
  /** Models loaded at start. @defaultValue all of them when loadMs is 0, else none */
  warmModels?: string[];
  /** What /api/version answers. @defaultValue 0.12.6 */
  version?: string;
}

interface OllamaMessage {
  role?: string;
  content?: string;
  images?: string[];
  tool_calls?: Array<{ function?: { name?: string; arguments?: unknown } }>;
  tool_name?: string;
}

interface OllamaBody {
  model?: string;
  messages?: OllamaMessage[];
  prompt?: string;
  stream?: boolean;
  format?: unknown;
  options?: { num_predict?: number };
  tools?: Array<{ type?: string; function?: { name?: string; parameters?: unknown } }>;
  suffix?: string;
  raw?: boolean;
  logprobs?: boolean;
  top_logprobs?: number;
  input?: string | string[];
  dimensions?: number;
}

/** An Ollama server on one simulated GPU, speaking Ollama's wire protocol. */
export class OllamaEmulator extends Emulator {
  readonly gpu: Gpu;
  readonly options: OllamaEmulatorOptions;

  constructor(options: OllamaEmulatorOptions = {}) {
    const protocol = new OllamaProtocol(options);
    super(protocol);
    this.options = options;
    this.gpu = protocol.gpu;
    this.vram = protocol.vram;
    protocol.attach(this);
  }

  readonly vram: Vram;

  /** Model loads since the last reset, by model: how often the scheduler made this GPU swap. */
  get loads(): Record<string, number> {
    return { ...this.vram.loads };
  }
}

export async function startOllamaEmulator(options: OllamaEmulatorOptions = {}): Promise<OllamaEmulator> {
  return new OllamaEmulator(options).listen(options);
}

class OllamaProtocol implements ProviderProtocol {
  readonly name = 'ollama';
  readonly gpu: Gpu;
  private readonly models: EmulatedModel[];
  readonly vram: Vram;
  private emulator!: Emulator;

  constructor(private readonly options: OllamaEmulatorOptions) {
    this.gpu = new Gpu(options, () => new HttpError(503, { error: OLLAMA_BUSY }));
    this.vram = new Vram(options);
    this.models = options.models ?? shippedModels('ollama');
    this.reset();
  }

  attach(emulator: Emulator): void {
    this.emulator = emulator;
  }

  reset(): void {
    const cold = (this.options.loadMs ?? 0) > 0 || this.options.loadMsByModel !== undefined || this.options.maxLoaded !== undefined;
    const warm = this.options.warmModels ?? (cold ? [] : this.models.map((m) => m.name));
    this.vram.reset(warm);
  }

  extraStats(): Record<string, unknown> {
    return { loads: { ...this.vram.loads }, loaded: this.vram.loadedNames() };
  }

  route(method: string, path: string): Handler | undefined {
    const routes: Record<string, Handler> = {
      'POST /api/chat': (ctx) => this.generate(ctx, 'chat'),
      'POST /api/generate': (ctx) => this.generate(ctx, 'generate'),
      'POST /api/embed': (ctx) => this.embed(ctx, 'embed'),
      'POST /api/embeddings': (ctx) => this.embed(ctx, 'embeddings'),
      'GET /api/tags': async ({ res }) => sendJson(res, 200, { models: this.models.map((m) => this.describe(m)) }),
      'GET /api/ps': async ({ res }) => sendJson(res, 200, { models: this.models.filter((m) => this.isLoaded(m.name)).map((m) => this.describe(m, true)) }),
      'GET /api/version': async ({ res }) => sendJson(res, 200, { version: this.options.version ?? '0.12.6' }),
      'HEAD /': async ({ res }) => void res.writeHead(200).end(),
      'GET /': async ({ res }) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running'),
    };
    return routes[`${method} ${path}`];
  }

  errorBody(status: number, message: string | undefined): unknown {
    const defaults: Record<number, string> = { 503: OLLAMA_BUSY, 404: "model 'unknown' not found", 401: 'unauthorized', 429: 'too many requests' };
    return { error: message ?? defaults[status] ?? 'internal server error' };
  }

  modelOf(_path: string, body: unknown): string | undefined {
    return (body as OllamaBody | undefined)?.model;
  }

  isStream(path: string, body: unknown): boolean {
    // Ollama streams unless told not to (the SDK always says).
    return (path === '/api/chat' || path === '/api/generate') && (body as OllamaBody).stream !== false;
  }

  private find(name: string | undefined, kind: 'chat' | 'embedding' | 'any'): EmulatedModel {
    if (!name) throw new HttpError(400, { error: 'model is required' });
    const model = this.models.find((m) => sameOllamaModel(m.name, name));
    if (!model) throw new HttpError(404, { error: `model "${name}" not found, try pulling it first` });
    if (kind === 'chat' && model.kind === 'embedding') throw new HttpError(400, { error: `"${name}" does not support chat` });
    return model;
  }

  private isLoaded(name: string): boolean {
    return this.vram.isLoaded(name);
  }

  private timing(model: EmulatedModel): TimingOptions {
    return { ...this.options, ...this.options.modelTimings?.[model.name] };
  }

  /** Holds a slot for the whole request; a cold model loads first, before any header. */
  private async withSlot<T>(ctx: RequestContext, model: EmulatedModel, work: (loadMs: number) => Promise<T>): Promise<T | undefined> {
    const release = await this.gpu.acquire(ctx.signal).catch((err: unknown) => {
      if (err instanceof HttpError) throw err;
      return undefined; // the client left while waiting
    });
    if (!release) return undefined;
    const idle = this.emulator.stats.busy();
    const resident = await this.vram.use(model.name, ctx.signal);
    try {
      if (!resident) return undefined;
      return await work(resident.loadMs);
    } finally {
      resident?.done();
      idle();
      release();
    }
  }

  private async generate(ctx: RequestContext, route: 'chat' | 'generate'): Promise<void> {
    const body = ctx.body as OllamaBody;
    const model = this.find(body.model, 'chat');
    // Ollama's own 400 for a suffix on a model whose template has no fill-in-the-middle.
    if (route === 'generate' && body.suffix !== undefined && !model.insert) throw new HttpError(400, { error: `registry.ollama.ai/library/${model.name} does not support insert` });
    const prompt = toPrompt(body, model.name, route);
    const gen = generate(prompt, body.options?.num_predict);
    // Ollama's tool calls: whole, arguments as an object, no id, done_reason still "stop".
    const calls = route === 'chat' ? toolCallsFor(prompt).map((c) => ({ function: { name: c.name, arguments: c.args } })) : [];
    if (calls.length > 0) gen.tokens = [];
    const started = process.hrtime.bigint();
    const timing = this.timing(model);
    let loadNs = 0;
    // Ollama's logprobs: top-level, per streamed piece (or all of them on a whole answer).
    const logprobs = body.logprobs ? tokenLogprobs(gen.tokens, body.top_logprobs ?? 0) : undefined;
    let at = 0;
    const frame = (content: string, done: boolean) => ({
      ...(logprobs && (content || (done && body.stream === false)) ? { logprobs: body.stream === false ? logprobs : logprobs.slice(at, ++at) } : {}),
      model: body.model,
      created_at: new Date().toISOString(),
      ...(route === 'chat'
        ? { message: { role: 'assistant', content, ...(calls.length > 0 && (done ? body.stream === false : true) ? { tool_calls: calls } : {}) } }
        : { response: content }),
      done,
      ...(done
        ? {
            done_reason: gen.finishReason,
            total_duration: Number(process.hrtime.bigint() - started),
            load_duration: loadNs,
            prompt_eval_count: gen.promptTokens,
            eval_count: gen.tokens.length,
            eval_duration: Number(process.hrtime.bigint() - started),
          }
        : {}),
    });
    await this.withSlot(ctx, model, async (loadMs) => {
      loadNs = Math.round(loadMs * 1e6);
      if (body.stream === false) {
        await pause(generationMs(gen.tokens.length, timing), ctx.signal);
        if (!ctx.signal.aborted) sendJson(ctx.res, 200, frame(gen.tokens.join(''), true));
        return;
      }
      const write = (obj: unknown) => ctx.res.write(`${JSON.stringify(obj)}\n`);
      const head = () => {
        if (!ctx.res.headersSent) ctx.res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      };
      if (calls.length > 0) {
        head();
        write(frame('', false));
      }
      const end = await playTokens(
        gen.tokens,
        timing,
        ctx.signal,
        ctx.fault,
        (token) => {
          head();
          write(frame(token, false));
        },
        () => {
          head();
          ctx.res.write(`{"model":${JSON.stringify(body.model)},"message":{"role":"assist\n`);
        },
      );
      head();
      if (end === 'drop') return cutConnection(ctx.res);
      if (end === 'error') return void ctx.res.end(`${JSON.stringify({ error: ctx.fault?.message ?? 'an error was encountered while running the model' })}\n`);
      if (end === 'complete') write(frame('', true));
      ctx.res.end();
    });
  }

  private async embed(ctx: RequestContext, route: 'embed' | 'embeddings'): Promise<void> {
    const body = ctx.body as OllamaBody & { prompt?: string };
    const model = this.find(body.model, 'any');
    const inputs = route === 'embeddings' ? [body.prompt ?? ''] : typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(inputs) || inputs.some((i) => typeof i !== 'string')) throw new HttpError(400, { error: 'invalid input type' });
    const dims = body.dimensions ?? model.dimensions ?? DEFAULT_DIMENSIONS;
    await this.withSlot(ctx, model, async (loadMs) => {
      await pause(this.timing(model).timeToFirstTokenMs ?? 0, ctx.signal);
      if (ctx.signal.aborted) return;
      // The old endpoint's vector is []float64 in Ollama: the float32 values widened, written in full.
      if (route === 'embeddings') return sendJson(ctx.res, 200, { embedding: embedText(model.name, inputs[0] ?? '', dims) });
      const vectors = `[${inputs.map((text) => embedTextJson(model.name, text, dims)).join(',')}]`;
      // The new one's are []float32, written as Go writes a float32 (see float32Text), in the struct's field order.
      const counts = `"total_duration":1000000,"load_duration":${Math.round(loadMs * 1e6)},"prompt_eval_count":${inputs.reduce((n, t) => n + countWords(t), 0)}`;
      sendJsonText(ctx.res, 200, `{"model":${JSON.stringify(body.model ?? '')},"embeddings":${vectors},${counts}}`);
    });
  }

  private describe(model: EmulatedModel, running = false) {
    const name = model.name.includes(':') ? model.name : `${model.name}:latest`;
    return {
      name,
      model: name,
      modified_at: '2025-05-04T17:37:44.7-07:00',
      size: 2_019_393_189,
      digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
      details: { parent_model: '', format: 'gguf', family: 'emulated', families: ['emulated'], parameter_size: '4B', quantization_level: 'Q4_K_M' },
      ...(running ? { expires_at: new Date(Date.now() + 300_000).toISOString(), size_vram: 2_019_393_189, context_length: 4096 } : {}),
    };
  }
}

function toPrompt(body: OllamaBody, model: string, route: 'chat' | 'generate'): Prompt {
  const messages = route === 'chat' ? (body.messages ?? []) : [{ role: 'user', content: body.prompt ?? '' }];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const last = messages.at(-1);
  return {
    model,
    ...(last?.role === 'assistant' ? { prefix: last.content ?? '' } : {}),
    ...(last?.role === 'tool' ? { toolResult: last.content ?? '' } : {}),
    ...(route === 'generate' && body.suffix !== undefined ? { suffix: body.suffix } : {}),
    tools: (body.tools ?? []).map((t) => ({ name: t.function?.name ?? '', parameters: t.function?.parameters })),
    lastUserText: lastUser?.content ?? '',
    images: lastUser?.images?.length ?? 0,
    promptWords: messages.reduce((n, m) => n + countWords(m.content ?? ''), 0),
    json: body.format !== undefined && body.format !== '',
  };
}

import { randomUUID } from 'node:crypto';
import { HttpError, cutConnection, pause, sendJson } from './http.js';
import { DEFAULT_DIMENSIONS, type EmulatedModel, shippedModels } from './models.js';
import { type Prompt, countWords, embedText, generate, toolCallsFor } from './reply.js';
import { Emulator, type Handler, type ListenOptions, type ProviderProtocol, type RequestContext } from './server.js';
import { type TimingOptions, generationMs, playTokens } from './timing.js';

export interface GeminiEmulatorOptions extends TimingOptions, ListenOptions {
  /** The key clients must send as x-goog-api-key. @defaultValue emulator-key */
  apiKey?: string;
  /** More keys it accepts (several projects' keys, as a gateway rotating keys holds); each has its own quota. */
  apiKeys?: string[];
  /** @defaultValue the google models of the shipped aliases.yaml */
  models?: EmulatedModel[];
  /** Requests allowed per rolling minute, per key (Gemini's quotas are per project, so per key), before 429 RESOURCE_EXHAUSTED. @defaultValue unlimited */
  quotaPerMinute?: number;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

interface GeminiPart {
  text?: string;
  inlineData?: { mimeType?: string; data?: string };
  functionCall?: { id?: string; name?: string; args?: unknown };
  functionResponse?: { id?: string; name?: string; response?: unknown };
}
interface GeminiBody {
  contents?: Array<{ role?: string; parts?: GeminiPart[] }>;
  tools?: Array<{ functionDeclarations?: Array<{ name?: string; parameters?: unknown }> }>;
  toolConfig?: { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } };
  systemInstruction?: { parts?: GeminiPart[] };
  generationConfig?: { maxOutputTokens?: number; responseMimeType?: string };
  requests?: Array<{ content?: { parts?: GeminiPart[] }; outputDimensionality?: number; model?: string }>;
}

/** The Gemini Developer API (v1beta), as @google/genai calls it. */
export class GeminiEmulator extends Emulator {
  private readonly gemini: GeminiProtocol;

  constructor(readonly options: GeminiEmulatorOptions = {}) {
    const protocol = new GeminiProtocol(options);
    super(protocol);
    this.gemini = protocol;
  }

  /** Requests each key made that got past the key check (reset with the stats). */
  requestsByKey(): Record<string, number> {
    return Object.fromEntries(this.gemini.byKey);
  }

  /** Deletes a key, as an operator does in the Cloud console: from now on it answers 400 API_KEY_INVALID. */
  revokeKey(key: string): void {
    this.gemini.revoke(key);
  }
}

export async function startGeminiEmulator(options: GeminiEmulatorOptions = {}): Promise<GeminiEmulator> {
  return new GeminiEmulator(options).listen(options);
}

export function geminiError(status: number, message: string, details?: unknown[]): unknown {
  return { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN', ...(details ? { details } : {}) } };
}

const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents|embedContent)$/;

class GeminiProtocol implements ProviderProtocol {
  readonly name = 'gemini';
  private readonly models: EmulatedModel[];
  /** Request times in the last minute, by key. */
  private recent = new Map<string, number[]>();
  /** Keys that were valid and have been revoked: answered as Gemini answers a deleted key. */
  private readonly revoked = new Set<string>();
  /** Requests that got past the key check, by key. */
  readonly byKey = new Map<string, number>();

  constructor(private readonly options: GeminiEmulatorOptions) {
    this.models = options.models ?? shippedModels('google');
  }

  reset(): void {
    this.recent.clear();
    this.byKey.clear();
  }

  revoke(key: string): void {
    this.revoked.add(key);
  }

  route(method: string, path: string): Handler | undefined {
    if (method === 'GET' && path === '/v1beta/models') {
      return async ({ res }) => sendJson(res, 200, { models: this.models.map((m) => ({ name: `models/${m.name}` })) });
    }
    const match = ROUTE.exec(path);
    if (method !== 'POST' || !match) return undefined;
    const [, model = '', action] = match;
    return async (ctx) => {
      const key = this.authorize(ctx);
      this.spendQuota(key);
      if (action === 'batchEmbedContents' || action === 'embedContent') return this.embed(ctx, model);
      return this.generate(ctx, model, action === 'streamGenerateContent');
    };
  }

  errorBody(status: number, message: string | undefined, retryAfterS?: number): unknown {
    // Gemini says how long to wait only in a google.rpc.RetryInfo detail, as "7s" (or "0.5s").
    const details = retryAfterS !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterS}s` }] : undefined;
    return geminiError(status, message ?? `emulated ${STATUS_NAMES[status] ?? 'error'}`, details);
  }

  modelOf(path: string): string | undefined {
    return ROUTE.exec(path)?.[1];
  }

  isStream(path: string): boolean {
    return path.endsWith(':streamGenerateContent');
  }

  private authorize({ req }: RequestContext): string {
    const key = req.headers['x-goog-api-key'];
    const valid = [this.options.apiKey ?? 'emulator-key', ...(this.options.apiKeys ?? [])];
    if (typeof key !== 'string' || !valid.includes(key) || this.revoked.has(key)) {
      throw new HttpError(
        400,
        geminiError(400, 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
        ]),
      );
    }
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
    return key;
  }

  private spendQuota(key: string): void {
    const limit = this.options.quotaPerMinute;
    if (limit === undefined) return;
    const now = Date.now();
    const recent = (this.recent.get(key) ?? []).filter((t) => now - t < 60_000);
    this.recent.set(key, recent);
    if (recent.length >= limit) {
      throw new HttpError(
        429,
        geminiError(429, 'You exceeded your current quota, please check your plan and billing details.', [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generate_content_free_tier_requests' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.ceil((60_000 - (now - (recent[0] ?? now))) / 1000)}s` },
        ]),
      );
    }
    recent.push(now);
  }

  private find(name: string, kind: 'chat' | 'embedding', method: string): EmulatedModel {
    const model = this.models.find((m) => m.name === name && m.kind === kind);
    if (!model) {
      throw new HttpError(404, geminiError(404, `models/${name} is not found for API version v1beta, or is not supported for ${method}.`));
    }
    return model;
  }

  private async generate(ctx: RequestContext, name: string, stream: boolean): Promise<void> {
    const model = this.find(name, 'chat', stream ? 'streamGenerateContent' : 'generateContent');
    const body = ctx.body as GeminiBody;
    checkDeclarations(body);
    const prompt = toPrompt(body, model.name);
    refuseUnfit(model, prompt);
    const gen = generate(prompt, body.generationConfig?.maxOutputTokens);
    const calls = toolCallsFor(prompt);
    if (calls.length > 0) gen.tokens = [];
    const responseId = randomUUID().slice(0, 12);
    const usage = (done: number) => ({
      promptTokenCount: gen.promptTokens,
      ...(done > 0 ? { candidatesTokenCount: done } : {}),
      totalTokenCount: gen.promptTokens + done,
    });
    const finishReason = gen.finishReason === 'length' ? 'MAX_TOKENS' : 'STOP';
    // Gemini's function calls: whole `functionCall` parts (no id from this API), finishReason still STOP.
    const parts = (text: string) => (calls.length > 0 ? calls.map((c) => ({ functionCall: { name: c.name, args: c.args } })) : [{ text }]);
    const response = (text: string, done: number, last: boolean) => ({
      candidates: [{ content: { parts: parts(text), role: 'model' }, ...(last ? { finishReason } : {}), index: 0 }],
      usageMetadata: usage(done),
      modelVersion: model.name,
      responseId,
    });
    if (!stream) {
      await pause(generationMs(gen.tokens.length, this.options), ctx.signal);
      if (!ctx.signal.aborted) sendJson(ctx.res, 200, response(gen.tokens.join(''), gen.tokens.length, true));
      return;
    }
    const send = (obj: unknown) => ctx.res.write(`data: ${JSON.stringify(obj)}\r\n\r\n`);
    const head = () => {
      if (!ctx.res.headersSent) ctx.res.writeHead(200, { 'content-type': 'text/event-stream' });
    };
    const end = await playTokens(
      gen.tokens,
      this.options,
      ctx.signal,
      ctx.fault,
      (token, i) => {
        head();
        send(response(token, i + 1, i === gen.tokens.length - 1));
      },
      () => {
        head();
        ctx.res.write(`data: {"candidates": [{"content": {"parts": [{"text": "\r\n\r\n`);
      },
    );
    head();
    if (end === 'complete' && gen.tokens.length === 0) send(response('', calls.length, true));
    if (end === 'drop') return cutConnection(ctx.res);
    if (end === 'error') send(geminiError(500, ctx.fault?.message ?? 'An internal error has occurred.'));
    ctx.res.end();
  }

  private async embed(ctx: RequestContext, name: string): Promise<void> {
    const model = this.find(name, 'embedding', 'embedContent');
    const requests = (ctx.body as GeminiBody).requests;
    if (!Array.isArray(requests) || requests.length === 0) throw new HttpError(400, geminiError(400, '* BatchEmbedContentsRequest.requests: must not be empty'));
    await pause(this.options.timeToFirstTokenMs ?? 0, ctx.signal);
    if (ctx.signal.aborted) return;
    sendJson(ctx.res, 200, {
      embeddings: requests.map((r) => ({
        values: embedText(model.name, (r.content?.parts ?? []).map((p) => p.text ?? '').join(''), r.outputDimensionality ?? model.dimensions ?? DEFAULT_DIMENSIONS),
      })),
    });
  }
}

/** Gemini's Schema: the OpenAPI subset function declarations may use, and its type names. */
const SCHEMA_FIELDS = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'anyOf',
  'propertyOrdering',
  'default',
  'items',
  'minimum',
  'maximum',
]);
const SCHEMA_TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);

/** The real API's 400 for a function declaration written in JSON Schema rather than its own dialect. */
function checkDeclarations(body: GeminiBody): void {
  (body.tools ?? []).forEach((tool, t) =>
    (tool.functionDeclarations ?? []).forEach((d, f) => {
      if (d.parameters !== undefined) checkSchema(d.parameters, `tools[${t}].function_declarations[${f}].parameters`);
    }),
  );
}

function checkSchema(schema: unknown, at: string): void {
  if (schema === null || typeof schema !== 'object') return;
  for (const [key, value] of Object.entries(schema)) {
    if (!SCHEMA_FIELDS.has(key)) throw new HttpError(400, geminiError(400, `Invalid JSON payload received. Unknown name "${key}" at '${at}': Cannot find field.`));
    if (key === 'type' && !SCHEMA_TYPES.has(String(value))) {
      throw new HttpError(400, geminiError(400, `Invalid value at '${at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "${String(value)}"`));
    }
  }
  const s = schema as { properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[] };
  for (const [name, p] of Object.entries(s.properties ?? {})) checkSchema(p, `${at}.properties[${name}].value`);
  if (s.items) checkSchema(s.items, `${at}.items`);
  (s.anyOf ?? []).forEach((a, i) => checkSchema(a, `${at}.any_of[${i}]`));
}

/** Gemini's own 400s for a prompt this model cannot take: too long for its context, or ending with a model turn it will not continue. */
function refuseUnfit(model: EmulatedModel, prompt: Prompt): void {
  if (model.contextTokens !== undefined && prompt.promptWords > model.contextTokens) {
    throw new HttpError(400, geminiError(400, `The input token count (${prompt.promptWords}) exceeds the maximum number of tokens allowed (${model.contextTokens}).`));
  }
  if (model.rejectsPrefill && prompt.prefix !== undefined) {
    throw new HttpError(400, geminiError(400, 'Requests ending with a model turn are not supported unless the last part is a function response.'));
  }
}

function toPrompt(body: GeminiBody, model: string): Prompt {
  const contents = body.contents ?? [];
  const last = contents.at(-1);
  const answers = (last?.parts ?? []).filter((p) => p.functionResponse);
  const config = body.toolConfig?.functionCallingConfig;
  const mode = config?.mode ?? 'AUTO';
  const lastUser = [...contents].reverse().find((c) => c.role !== 'model' && !c.parts?.every((p) => p.functionResponse));
  const text = (parts: GeminiPart[] | undefined) =>
    (parts ?? [])
      .map((p) => p.text ?? '')
      .filter(Boolean)
      .join('\n');
  return {
    model,
    ...(last?.role === 'model' ? { prefix: text(last.parts) } : {}),
    ...(answers.length > 0 ? { toolResult: answers.map((p) => JSON.stringify(p.functionResponse?.response ?? {})).join(' ') } : {}),
    tools: (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []).map((d) => ({ name: d.name ?? '', parameters: d.parameters })),
    toolChoice: mode === 'NONE' ? 'none' : mode === 'ANY' ? (config?.allowedFunctionNames?.length === 1 ? { name: config.allowedFunctionNames[0]! } : 'required') : 'auto',
    lastUserText: text(lastUser?.parts),
    images: (lastUser?.parts ?? []).filter((p) => p.inlineData).length,
    promptWords: [...contents.map((c) => text(c.parts)), text(body.systemInstruction?.parts)].reduce((n, t) => n + countWords(t), 0),
    json: body.generationConfig?.responseMimeType === 'application/json',
  };
}

import type { ProviderId } from '@mana/config';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export type ContentPart =
  | { type: 'text'; text: string }
  /** An image as base64 bytes (no `data:` prefix) with its MIME type. */
  | { type: 'image'; mimeType: string; data: string };

export interface ChatMessage {
  role: Role;
  content: string | readonly ContentPart[];
  /** An assistant message's calls of the request's tools. */
  toolCalls?: readonly ToolCall[] | undefined;
  /** A `tool` message: which call it answers. */
  toolCallId?: string | undefined;
}

/** A function the model may call; `parameters` is a JSON Schema (OpenAI's form), translated per provider. */
export interface ToolDefinition {
  name: string;
  description?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
}

/** Whether the model may, must or must not call a tool; or must call this one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** One call the model made: `arguments` is the JSON text of its arguments, as OpenAI carries it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name?: string | undefined; schema: Record<string, unknown> };

export interface ChatParams {
  temperature?: number | undefined;
  topP?: number | undefined;
  maxTokens?: number | undefined;
  stop?: readonly string[] | undefined;
  seed?: number | undefined;
  responseFormat?: ResponseFormat | undefined;
  tools?: readonly ToolDefinition[] | undefined;
  toolChoice?: ToolChoice | undefined;
  /** False: at most one tool call per turn (where the provider can be told). */
  parallelToolCalls?: boolean | undefined;
  /**
   * A legacy completion (/v1/completions): the first message's text is a
   * prompt to continue as written, not a conversation (Ollama's generate in
   * raw mode, the OpenAI-compatible completions API); `suffix` asks for the
   * text between prompt and suffix (fill-in-the-middle).
   */
  completion?: { suffix?: string | undefined } | undefined;
  /** Ask for each answer token's log-probability, and the `top` likeliest alternatives at each place (0–20). */
  logprobs?: { top: number } | undefined;
}

/** One answer token's log-probability, with the likeliest alternatives there when asked. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: Array<{ token: string; logprob: number }> | undefined;
}

export interface ChatRequest {
  /** The provider's own model name (the part after `provider/`). */
  model: string;
  messages: readonly ChatMessage[];
  params?: ChatParams | undefined;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error';

export interface ChatResult {
  /** The exact model that answered, as the provider reported it. */
  model: string;
  content: string;
  finishReason: FinishReason;
  usage: Usage;
  /** The tools the model called (finishReason `tool_calls`). */
  toolCalls?: ToolCall[] | undefined;
  /** Per answer token, when the request asked (params.logprobs). */
  logprobs?: TokenLogprob[] | undefined;
  /** How long the server spent loading the model for this call, in ms, when it says (Ollama's load_duration). */
  loadMs?: number | undefined;
}

/** A streamed chat: text deltas in order, then exactly one `done` with the whole result. */
export type ChatStreamEvent = { type: 'delta'; content: string } | { type: 'done'; result: ChatResult };

export interface EmbedRequest {
  model: string;
  input: readonly string[];
  dimensions?: number | undefined;
}

export interface EmbedResult {
  model: string;
  /** One vector per input, in input order. */
  embeddings: number[][];
  usage: { promptTokens: number };
  /** See ChatResult.loadMs. */
  loadMs?: number | undefined;
}

export interface CallOptions {
  /** Aborts the call (the job was cancelled or its client went away). */
  signal?: AbortSignal | undefined;
  /** The gateway's deadline for this call; the SDKs' own timeouts are off. */
  timeoutMs?: number | undefined;
  /** A stream that has sent no token this long after the call began fails (the upstream hangs, or starts too slowly). */
  firstTokenMs?: number | undefined;
  /** A stream that goes this long without a chunk once it has begun fails (it stalled). */
  idleMs?: number | undefined;
}

export interface HealthReport {
  ok: boolean;
  /** What was checked, or why it failed. */
  detail: string;
  /** The server did not answer the probe in time (as opposed to refusing it or answering an error). */
  timedOut?: boolean | undefined;
  /** Models the provider has ready (Ollama: loaded in memory), when it says. */
  loadedModels?: string[] | undefined;
  /** Every model the server can serve (Ollama: pulled, /api/tags; an OpenAI-compatible engine: /v1/models), when it says. */
  models?: string[] | undefined;
}

/** One provider endpoint: an Ollama GPU server, or a cloud API. */
export interface ProviderAdapter {
  readonly id: ProviderId;
  /** `ollama:gpu0`, `google`, …: names this endpoint in logs and metrics. */
  readonly endpoint: string;
  chat(request: ChatRequest, options?: CallOptions): Promise<ChatResult>;
  chatStream(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent>;
  embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResult>;
  health(options?: CallOptions): Promise<HealthReport>;
}

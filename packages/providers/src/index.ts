export type {
  CallOptions,
  ChatMessage,
  ChatParams,
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  ContentPart,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  HealthReport,
  ProviderAdapter,
  ResponseFormat,
  Role,
  Usage,
} from './types.js';
export { DEFAULT_TIMEOUT_MS } from './deadline.js';
export { createOllamaAdapter } from './ollama/index.js';
export { createGoogleAdapter } from './google/index.js';
export type { GoogleAdapterOptions } from './google/index.js';
export { createOpenAICompatibleAdapter } from './openai-compatible/index.js';
export type { OpenAICompatibleOptions } from './openai-compatible/index.js';
export { createProviders, keyId, splitKeys } from './registry.js';
export { argumentsObject } from './tools/calls.js';
export type { MalformedChunkHook } from './lenient-stream.js';
export type { CloudProviderId, Providers } from './registry.js';

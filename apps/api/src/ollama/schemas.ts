import { z } from 'zod';

/** Ollama's sampling options Mana carries; the rest (num_ctx, num_gpu, …) tune a server and are the GPU servers' own business. */
const OptionsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    num_predict: z.number().int().optional(),
    stop: z.array(z.string()).max(16).optional(),
    seed: z.number().int().optional(),
  })
  .passthrough();

const FormatSchema = z.union([z.literal('json'), z.literal(''), z.record(z.string(), z.unknown())], { error: 'expected "json" or a JSON schema' });

const Common = {
  model: z.string({ error: 'model is required' }).min(1, { error: 'model is required' }),
  format: FormatSchema.optional(),
  options: OptionsSchema.optional(),
  stream: z.boolean().optional(),
  // The GPU servers keep their own models loaded; a client's keep_alive and think hints are accepted and left to them.
  keep_alive: z.union([z.string(), z.number()]).optional(),
  think: z.union([z.boolean(), z.enum(['high', 'medium', 'low'])]).optional(),
};

const ImagesSchema = z.array(z.string()).max(16, { error: 'at most 16 images' });

const MessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool'], { error: 'expected one of system, user, assistant, tool' }),
  content: z.string().default(''),
  images: ImagesSchema.optional(),
  tool_calls: z.array(z.object({ function: z.object({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()).default({}) }) })).optional(),
  tool_name: z.string().optional(),
  thinking: z.string().optional(),
});
export type OllamaMessage = z.infer<typeof MessageSchema>;

const ToolSchema = z.object({
  type: z.literal('function', { error: 'expected type "function"' }),
  function: z.object({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }),
});

/** POST /api/chat, as Ollama defines it. */
export const OllamaChatSchema = z.object({ ...Common, messages: z.array(MessageSchema).max(2048).default([]), tools: z.array(ToolSchema).max(128).optional() });
export type OllamaChatRequest = z.infer<typeof OllamaChatSchema>;

/** POST /api/generate, as Ollama defines it. */
export const OllamaGenerateSchema = z.object({
  ...Common,
  prompt: z.string().default(''),
  suffix: z.string().optional(),
  system: z.string().optional(),
  images: ImagesSchema.optional(),
  raw: z.boolean().optional(),
  context: z
    .unknown()
    .refine((v) => v === undefined, { error: 'token contexts are not supported: send the conversation to /api/chat' })
    .optional(),
  template: z
    .unknown()
    .refine((v) => v === undefined, { error: 'a per-request template is not supported: the GPU servers apply their models’ own' })
    .optional(),
});
export type OllamaGenerateRequest = z.infer<typeof OllamaGenerateSchema>;

/** POST /api/embed. */
export const OllamaEmbedSchema = z.object({
  model: Common.model,
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)], { error: 'expected a string or an array of strings' }),
  dimensions: z.number().int().positive().optional(),
  truncate: z.boolean().optional(),
  options: OptionsSchema.optional(),
  keep_alive: Common.keep_alive,
});

/** POST /api/embeddings, the legacy single-prompt form. */
export const OllamaEmbeddingsSchema = z.object({ model: Common.model, prompt: z.string(), options: OptionsSchema.optional(), keep_alive: Common.keep_alive });

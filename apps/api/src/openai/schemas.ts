import { z } from 'zod';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.object({ url: z.string(), detail: z.string().optional() })]),
});

const ToolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function', { error: 'expected type "function"' }),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const MessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function'], { error: 'expected one of system, developer, user, assistant, tool, function' }),
  content: z
    .union([z.string(), z.array(z.discriminatedUnion('type', [TextPart, ImagePart], { error: 'expected a part of type text or image_url' }))])
    .nullable()
    .optional(),
  name: z.string().optional(),
  tool_calls: z.array(ToolCallSchema).max(128).optional(),
  /** The deprecated form of an assistant's call (one per message). */
  function_call: z.object({ name: z.string().min(1), arguments: z.string() }).optional(),
  tool_call_id: z.string().min(1).optional(),
});

/** OpenAI's rule for function names. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const ToolSchema = z.object({
  type: z.literal('function', { error: 'only tools of type "function" are supported (no built-in tools)' }),
  function: z.object({
    name: z.string().regex(FUNCTION_NAME, { error: 'a function name is 1 to 64 letters, digits, _ or -' }),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required'], { error: 'expected "none", "auto", "required" or {"type": "function", "function": {"name": …}}' }),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

/** The deprecated functions API, served as tools (see legacy-functions.ts). */
const FunctionSchema = z.object({
  name: z.string().regex(FUNCTION_NAME, { error: 'a function name is 1 to 64 letters, digits, _ or -' }),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
const FunctionCallChoiceSchema = z.union([z.enum(['none', 'auto'], { error: 'expected "none", "auto" or {"name": …}' }), z.object({ name: z.string() })]);

const ResponseFormatSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullable().optional() }),
    }),
  ],
  { error: 'expected type text, json_object or json_schema' },
);

/** Limits on one request, beyond the 20 MB body limit: what a GPU server can sensibly take. */
export const LIMITS = { messages: 2048, images: 16, imageBytes: 10 * 1024 * 1024, embeddingInputs: 2048 } as const;

/**
 * POST /v1/chat/completions, as OpenAI defines it. Fields we do not act on
 * (user, logit_bias, …) are accepted and ignored, as clients send them freely.
 */
export const ChatCompletionRequestSchema = z.object({
  model: z.string().optional(),
  messages: z
    .array(MessageSchema)
    .min(1, { error: 'at least one message is required' })
    .max(LIMITS.messages, { error: `at most ${LIMITS.messages} messages per request` }),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  seed: z.number().int().nullable().optional(),
  n: z.literal(1, { error: 'only n=1 is supported' }).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  response_format: ResponseFormatSchema.nullable().optional(),
  tools: z.array(ToolSchema).max(128, { error: 'at most 128 tools per request' }).nullable().optional(),
  tool_choice: ToolChoiceSchema.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  functions: z.array(FunctionSchema).max(128, { error: 'at most 128 functions per request' }).optional(),
  function_call: FunctionCallChoiceSchema.optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** Why token ids are refused: they belong to one tokenizer, and one request may be served by several. */
const TOKEN_ARRAYS =
  'expected a string or an array of strings; token arrays are not supported, because one request may be served by models with different tokenizers (a GPU model, then its cloud fallback), for which the same token ids mean different text';

export const EmbeddingRequestSchema = z.object({
  model: z.string().optional(),
  input: z.union(
    [
      z.string(),
      z
        .array(z.string(), { error: TOKEN_ARRAYS })
        .min(1, { error: 'at least one input is required' })
        .max(LIMITS.embeddingInputs, { error: `at most ${LIMITS.embeddingInputs} inputs per request; use /v1/jobs or a batch for more` }),
    ],
    { error: TOKEN_ARRAYS },
  ),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

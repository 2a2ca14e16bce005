import { z } from 'zod';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.object({ url: z.string(), detail: z.string().optional() })]),
});

const MessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'expected one of system, developer, user, assistant' }),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPart, ImagePart], { error: 'expected a part of type text or image_url' }))]).nullable(),
  name: z.string().optional(),
});

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
  tools: z.array(z.unknown()).max(0, { error: 'tools are not supported yet' }).optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

export const EmbeddingRequestSchema = z.object({
  model: z.string().optional(),
  input: z.union([
    z.string(),
    z
      .array(z.string(), { error: 'expected a string or an array of strings (token arrays are not supported)' })
      .min(1, { error: 'at least one input is required' })
      .max(LIMITS.embeddingInputs, { error: `at most ${LIMITS.embeddingInputs} inputs per request; use /v1/jobs or a batch for more` }),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

import { z } from 'zod';

const TextBlock = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const ImageBlock = z.object({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }), z.object({ type: z.literal('url'), url: z.string() })]),
});
const ToolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()).default({}) }).passthrough();
const ToolResultBlock = z
  .object({
    type: z.literal('tool_result'),
    tool_use_id: z.string().min(1),
    content: z.union([z.string(), z.array(z.union([TextBlock, ImageBlock]))]).optional(),
    is_error: z.boolean().optional(),
  })
  .passthrough();

const Block = z.discriminatedUnion('type', [TextBlock, ImageBlock, ToolUseBlock, ToolResultBlock], {
  error: 'expected a content block of type text, image, tool_use or tool_result (documents, thinking and server tools are not supported)',
});
export type AnthropicBlock = z.infer<typeof Block>;

const MessageSchema = z.object({
  role: z.enum(['user', 'assistant'], { error: 'expected user or assistant (the system prompt is the top-level system field)' }),
  content: z.union([z.string(), z.array(Block)]),
});
export type AnthropicMessage = z.infer<typeof MessageSchema>;

const ToolSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, { error: 'a tool name is 1 to 64 letters, digits, _ or -' }),
    description: z.string().optional(),
    input_schema: z.record(z.string(), z.unknown()),
    type: z.literal('custom').optional(),
  })
  .passthrough();

/** POST /v1/messages, as Anthropic defines it, as far as Mana serves it. */
export const MessagesRequestSchema = z.object({
  model: z.string().optional(),
  max_tokens: z.number({ error: 'max_tokens is required' }).int().positive(),
  messages: z.array(MessageSchema).min(1, { error: 'at least one message is required' }).max(2048),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  stop_sequences: z.array(z.string()).max(16).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  // Anthropic-only sampling; the GPU servers and other providers have no equivalent, so it is accepted and not carried.
  top_k: z.number().int().optional(),
  stream: z.boolean().optional(),
  tools: z.array(ToolSchema, { error: 'expected custom tools {name, description, input_schema} (server tools such as web_search are not supported)' }).max(128).optional(),
  tool_choice: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
      z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
      z.object({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
      z.object({ type: z.literal('none') }),
    ])
    .optional(),
  metadata: z.object({ user_id: z.string().nullable().optional() }).optional(),
  thinking: z
    .unknown()
    .refine((v) => v === undefined || (v as { type?: string })?.type === 'disabled', { error: 'thinking: extended thinking is not supported' })
    .optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;

/** POST /v1/messages/count_tokens: the same request without max_tokens. */
export const CountTokensSchema = MessagesRequestSchema.omit({ max_tokens: true, stream: true });

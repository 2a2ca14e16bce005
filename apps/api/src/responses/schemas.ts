import { z } from 'zod';

const InputText = z.object({ type: z.literal('input_text'), text: z.string() });
const OutputText = z.object({ type: z.literal('output_text'), text: z.string() }).passthrough();
const InputImage = z.object({ type: z.literal('input_image'), image_url: z.string().optional(), file_id: z.string().optional(), detail: z.string().optional() });
const ContentSchema = z.union([
  z.string(),
  z.array(
    z.discriminatedUnion('type', [InputText, OutputText, InputImage], { error: 'expected a part of type input_text, input_image or output_text (input_file is not supported)' }),
  ),
]);

const MessageItem = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer'], { error: 'expected one of user, assistant, system, developer' }),
  content: ContentSchema,
});
const FunctionCallItem = z
  .object({ type: z.literal('function_call'), call_id: z.string().min(1), name: z.string().min(1), arguments: z.string(), id: z.string().optional() })
  .passthrough();
const FunctionCallOutputItem = z.object({ type: z.literal('function_call_output'), call_id: z.string().min(1), output: z.union([z.string(), z.array(z.unknown())]) }).passthrough();

const ItemReference = z.object({ type: z.literal('item_reference'), id: z.string().min(1) });

/** One input item: a message (typed or bare), a function call the model made, its output, or a reference to an earlier response's output item. */
const InputItem = z.union([FunctionCallItem, FunctionCallOutputItem, ItemReference, MessageItem], {
  error: 'expected a message {role, content}, a function_call, a function_call_output or an item_reference (other item types are not supported)',
});

const FunctionTool = z.object({
  type: z.string(),
  name: z.string().optional(),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const TextFormat = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({ type: z.literal('json_schema'), name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullable().optional() }),
  ],
  { error: 'expected type text, json_object or json_schema' },
);

/** Fields of OpenAI's Responses API that Mana cannot honour: a 400 naming each, never a silent drop. */
const unsupported = (why: string) =>
  z
    .unknown()
    .refine((v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0), { error: why })
    .optional();

/** POST /v1/responses, as OpenAI defines it, as far as Mana serves it. */
export const ResponseRequestSchema = z.object({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(InputItem).min(1, { error: 'at least one input item is required' }).max(2048)]),
  instructions: z.string().nullable().optional(),
  tools: z.array(FunctionTool).max(128).optional(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name: z.string() })], {
      error: 'expected "none", "auto", "required" or {"type": "function", "name": …}',
    })
    .optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  text: z.object({ format: TextFormat.optional() }).passthrough().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  background: z.boolean().nullable().optional(),
  previous_response_id: z.string().nullable().optional(),
  store: z.boolean().nullable().optional(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
  user: z.string().optional(),
  conversation: unsupported('conversation: the Conversations API is not supported; chain responses with previous_response_id'),
  prompt: unsupported('prompt: stored prompts are not supported; send input and instructions'),
  include: unsupported('include: no extra output (logprobs, encrypted reasoning, search results) is available'),
});
export type ResponseRequest = z.infer<typeof ResponseRequestSchema>;
export type ResponseInputItem = z.infer<typeof InputItem>;

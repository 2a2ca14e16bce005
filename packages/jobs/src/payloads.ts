import { z } from 'zod';
import { PROVIDER_IDS } from '@mana/config';
import type { ChatMessage, ChatParams, EmbedRequest } from '@mana/providers';

export const PRIORITIES = ['interactive', 'async', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Each class's range of BullMQ priorities, of this many values: a hop's
 * priority is its class's base plus its tenant's fair-share tag (see
 * FairShare). BullMQ allows priorities up to 2^21 - 1.
 */
export const PRIORITY_CLASS_WIDTH = 2 ** 19;

/** BullMQ's score of a prioritized hop: priority × 2^32 + an arrival counter (the fair-share script's UNIT too). */
export const PRIORITY_SCORE_UNIT = 2 ** 32;

/** The first BullMQ priority of each class: lower runs first. Interactive work overtakes async, async overtakes batch. */
export const BULLMQ_PRIORITY: Record<Priority, number> = { interactive: 1, async: 1 + PRIORITY_CLASS_WIDTH, batch: 1 + 2 * PRIORITY_CLASS_WIDTH };

export const TargetSchema = z.object({
  provider: z.enum(PROVIDER_IDS),
  model: z.string().min(1),
  id: z.string().min(1),
  /** From aliases.yaml's models: the model's context in tokens, and whether it has `long_context`. */
  context: z.number().int().positive().optional(),
  longContext: z.literal(true).optional(),
});

const ContentPartSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('image'), mimeType: z.string(), data: z.string() }),
]);

export const ToolCallSchema = z.object({ id: z.string(), name: z.string(), arguments: z.string() });

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(ContentPartSchema)]),
  toolCalls: z.array(ToolCallSchema).optional(),
  toolCallId: z.string().optional(),
});

export const ChatParamsSchema = z.object({
  temperature: z.number().optional(),
  topP: z.number().optional(),
  maxTokens: z.number().int().optional(),
  stop: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
  responseFormat: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({ type: z.literal('json_schema'), name: z.string().optional(), schema: z.record(z.string(), z.unknown()) }),
    ])
    .optional(),
  tools: z.array(z.object({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() })).optional(),
  toolChoice: z.union([z.enum(['auto', 'none', 'required']), z.object({ name: z.string() })]).optional(),
  parallelToolCalls: z.boolean().optional(),
  completion: z.object({ suffix: z.string().optional() }).optional(),
  logprobs: z.object({ top: z.number().int().min(0).max(20) }).optional(),
});

/** The work itself, without a model: each hop runs it on its own target. */
export const WorkSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('chat'), messages: z.array(ChatMessageSchema).min(1), params: ChatParamsSchema.default({}), stream: z.boolean() }),
  z.object({ kind: z.literal('embedding'), input: z.array(z.string()).min(1), dimensions: z.number().int().positive().optional() }),
]);
export type Work = z.infer<typeof WorkSchema>;

/** What one BullMQ job (one hop) carries. Validated when enqueued and when dequeued. */
export const HopPayloadSchema = z.object({
  jobId: z.string().min(1),
  hop: z.number().int().min(0),
  target: TargetSchema,
  /** The whole chain the job was resolved with; hop i runs chain[i]. */
  chain: z.array(TargetSchema).min(1),
  work: WorkSchema,
  /** Tolerance for waiting on a GPU before spilling; null: never spill for overflow. */
  maxWaitMs: z.number().int().min(0).nullable(),
  priority: z.enum(PRIORITIES),
  /** Whose job it is: hops share the GPUs between tenants by weight (see FairShare). */
  tenant: z.string().optional(),
  /** The tenant's weight when the API's keys file gave one (it wins over MANA_TENANT_WEIGHTS); carried so workers need not read that file. */
  weight: z.number().positive().optional(),
  /**
   * A job pinned to one target (an embedding batch's items) retries that
   * target after a retryable failure until this time (its batch's
   * completion window), instead of failing at once.
   */
  retryUntil: z.number().int().optional(),
  /** Which retry of this hop this is (0 for the first try). */
  attempt: z.number().int().min(0).optional(),
  /**
   * The streamed answer so far, which an earlier hop began and this hop's
   * target is asked to continue (sent as a final assistant message).
   */
  continuation: z.object({ text: z.string().min(1) }).optional(),
  /** A target said the prompt is longer than its context: later targets without `long_context` are passed over while one with it remains. */
  needsLongContext: z.literal(true).optional(),
});
export type HopPayload = z.infer<typeof HopPayloadSchema>;
/** A chain's target as a hop carries it. */
export type HopTarget = z.infer<typeof TargetSchema>;

// The schemas above must describe exactly what the provider layer accepts.
type Assert<T extends true> = T;
export type _MessagesMatch = Assert<z.infer<typeof ChatMessageSchema> extends ChatMessage ? true : false>;
export type _ParamsMatch = Assert<z.infer<typeof ChatParamsSchema> extends ChatParams ? true : false>;
export type _EmbedMatch = Assert<{ model: string; input: string[] } extends EmbedRequest ? true : false>;

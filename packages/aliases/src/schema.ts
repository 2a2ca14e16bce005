import { z } from 'zod';

export const KINDS = ['chat', 'embedding'] as const;
export type Kind = (typeof KINDS)[number];

/** What a target can do beyond plain text chat; an alias lists what it needs. */
export const CAPABILITIES = ['vision', 'structured_output', 'long_context', 'reasoning', 'tools'] as const;
export type Capability = (typeof CAPABILITIES)[number];

const CapabilityListSchema = z.array(z.enum(CAPABILITIES)).default([]);

/** One `provider/model` target: what kind of work it serves and what it can do. */
export const ModelSpecSchema = z.strictObject({
  kind: z.enum(KINDS),
  capabilities: CapabilityListSchema,
  /** Length of the vectors an embedding model returns; required for embedding models. */
  dimensions: z.number().int().positive().optional(),
  /**
   * The most tokens (prompt and answer) the model takes as served, e.g. an
   * Ollama model's num_ctx. A prompt estimated longer skips this target for
   * the next one (Ollama would silently cut the prompt instead).
   */
  context: z.number().int().positive().optional(),
});
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

export const AliasSpecSchema = z.strictObject({
  kind: z.enum(KINDS).default('chat'),
  description: z.string().optional(),
  capabilities: CapabilityListSchema,
  /** Ordered targets; checked one by one in validate.ts for clearer messages. */
  chain: z.array(z.string()),
});
export type AliasSpec = z.infer<typeof AliasSpecSchema>;

/**
 * The structure of aliases.yaml. Rules that need more than one field (alias
 * namespace, known providers, chain kinds and dimensions, `default` naming an
 * alias) live in validate.ts so each message can name the alias at fault.
 */
export const AliasFileSchema = z.strictObject({
  version: z.literal(1, { error: 'expected version: 1' }),
  default: z.string(),
  default_embedding: z.string().optional(),
  models: z.record(z.string(), ModelSpecSchema).default({}),
  aliases: z.record(z.string(), AliasSpecSchema),
  model_map: z.record(z.string(), z.string()).default({}),
});
export type AliasFile = z.infer<typeof AliasFileSchema>;

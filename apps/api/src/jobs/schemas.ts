import { z } from 'zod';
import { PRIORITIES } from '@mana/jobs';
import { ChatCompletionRequestSchema, EmbeddingRequestSchema } from '../openai/schemas.js';

const Common = {
  priority: z.enum(PRIORITIES).default('async'),
  /** Tolerance for waiting on a GPU before spilling; null: never spill for waiting alone. */
  max_wait_ms: z.number().int().min(0).nullable().optional(),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, { error: 'at most 16 metadata keys' })
    .optional(),
};

/** POST /v1/jobs: the OpenAI-shaped request to run later, and how to schedule it. */
export const JobRequestSchema = z.discriminatedUnion(
  'type',
  [z.object({ type: z.literal('chat'), request: ChatCompletionRequestSchema, ...Common }), z.object({ type: z.literal('embedding'), request: EmbeddingRequestSchema, ...Common })],
  { error: 'type must be "chat" or "embedding"' },
);
export type JobRequest = z.infer<typeof JobRequestSchema>;

import type { Request } from 'express';
import { ValidationError } from '@mana/errors';
import { PRIORITIES, type Priority } from '@mana/jobs';

/**
 * Optional scheduling headers on the OpenAI-compatible routes:
 * `x-mana-priority` (interactive, async, batch) and `x-mana-max-wait-ms`,
 * the tolerance for waiting on a GPU before spilling to the next target.
 */
export function schedulingFrom(req: Request, fallback: Priority): { priority: Priority; maxWaitMs: number | undefined } {
  const priority = req.header('x-mana-priority') ?? fallback;
  if (!(PRIORITIES as readonly string[]).includes(priority)) {
    throw new ValidationError(`x-mana-priority must be one of ${PRIORITIES.join(', ')}`, 'x-mana-priority');
  }
  const raw = req.header('x-mana-max-wait-ms');
  if (raw !== undefined && !/^\d+$/.test(raw)) throw new ValidationError('x-mana-max-wait-ms must be a whole number of milliseconds', 'x-mana-max-wait-ms');
  return { priority: priority as Priority, maxWaitMs: raw === undefined ? undefined : Number(raw) };
}

import type { Job } from 'bullmq';
import { ProviderError } from '@mana/errors';
import { HopPayloadSchema, type Pipeline } from '@mana/jobs';
import type { Logger } from '@mana/logging';
import { routeFailure } from '@mana/jobs';

/**
 * A hop whose workers kept dying under it is failed by BullMQ itself
 * ("stalled more than allowable limit") without our processor running, so
 * its job record would wait forever. This listener treats that as the
 * target's failure: the job moves to its next target, or fails with a reason.
 */
export function rerouteStalledOut(pipeline: Pipeline, log: Logger) {
  return (job: Job | undefined, err: Error) => {
    if (!job || !err.message.includes('stalled more than allowable limit')) return;
    const parsed = HopPayloadSchema.safeParse(job.data);
    if (!parsed.success) return;
    const payload = parsed.data;
    const error = new ProviderError('provider_unavailable', `${payload.target.id}: the workers running this hop kept dying; giving up on this target`, {
      provider: payload.target.provider,
      target: payload.target.id,
    });
    routeFailure(pipeline, payload, error)
      .then(({ outcome }) => log.error({ jobId: payload.jobId, hop: payload.hop, outcome }, 'hop stalled out'))
      .catch((e: unknown) => log.error({ err: e, jobId: payload.jobId }, 'could not reroute a stalled-out hop'));
  };
}

import { type Job, UnrecoverableError } from 'bullmq';
import type { Pipeline } from '@mana/jobs';
import type { Logger } from '@mana/logging';

export interface HeldHopOptions {
  pipeline: Pipeline;
  log: Logger;
  /** Runs the hop (see GpuSchedulerOptions.process). */
  process(job: Job, providerDone: () => void): Promise<unknown>;
  /** Called for a hop BullMQ failed because its workers kept dying (see stalled-out). */
  onFailed(job: Job | undefined, err: Error): void;
  /** True once a forced stop aborted the running hops: they are left to stall and run again elsewhere. */
  forced(): boolean;
}

/**
 * Runs one hop fetched by hand from BullMQ and settles it there, as BullMQ's
 * own Worker would: completed, failed (routed on already), or left to the
 * stall check when its record could not be written.
 */
export async function runHeldHop(options: HeldHopOptions, job: Job, token: string, providerDone: () => void): Promise<void> {
  if (job.deferredFailure) {
    // BullMQ's stall check marks a hop whose workers kept dying; its Worker fails such a hop when
    // fetched, and so do we (then it is routed on, see stalled-out).
    const err = new UnrecoverableError(job.deferredFailure);
    await job.moveToFailed(err, token, false).catch(() => {});
    options.onFailed(job, err);
    return;
  }
  try {
    const outcome = await withTraceOf(options.pipeline, job, () => options.process(job, providerDone));
    if (!options.forced()) await job.moveToCompleted(outcome, token, false);
  } catch (err) {
    if (options.forced()) return; // aborted by a forced stop: left to stall and run again elsewhere
    if (err instanceof UnrecoverableError) {
      // Routed already; failed in BullMQ too, so the board shows the provider's error on this hop.
      await job.moveToFailed(err, token, false).catch((e: unknown) => options.log.warn({ jobId: job.id, err: e }, 'could not mark a failed hop in BullMQ'));
      return;
    }
    // Redis stayed away past the retry deadline: the hop's lock lapses and the stall check reruns it.
    options.log.warn({ jobId: job.id, err }, 'hop left to the stall check');
  }
}

/** Runs `fn` in the trace the hop was queued in (BullMQ's own Worker does this for processor jobs). */
function withTraceOf<T>(pipeline: Pipeline, job: Job, fn: () => Promise<T>): Promise<T> {
  const telemetry = pipeline.tracing.bullmq;
  const metadata = job.opts.telemetry?.metadata;
  if (!telemetry || !metadata) return fn();
  const { contextManager } = telemetry;
  return contextManager.with(contextManager.fromMetadata(contextManager.active(), metadata), fn);
}

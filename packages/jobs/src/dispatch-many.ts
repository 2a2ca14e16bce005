import type { ProviderId } from '@mana/config';
import type { HopPayload } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import { dispatchHop, enqueueMany, reasonToPassOver } from './dispatch.js';

/**
 * Queues hop 0 of many jobs at once (a batch's lines): the pass-over check
 * runs once per distinct target, and jobs whose first target takes them go
 * to BullMQ with one addBulk per queue instead of one round trip each. Jobs
 * that must move on go through dispatchHop one by one, as a single job
 * would. Returns the jobs that could not be queued, with the reason: their
 * records are the caller's to fail.
 */
export async function dispatchMany(p: Pipeline, payloads: readonly HopPayload[]): Promise<Map<string, unknown>> {
  const failed = new Map<string, unknown>();
  const verdicts = new Map<string, Promise<unknown>>();
  const passOver = (payload: HopPayload) => {
    // Only a job with somewhere to move to is checked (a pinned one always queues on its target).
    const canMove = p.options.autoFallbackEnabled && payload.chain[payload.hop + 1] !== undefined;
    const key = `${payload.target.id}|${payload.priority}|${payload.maxWaitMs}|${canMove}`;
    let verdict = verdicts.get(key);
    if (!verdict) {
      verdict = canMove ? reasonToPassOver(p, payload, payload.target) : Promise.resolve(undefined);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
  const direct = new Map<ProviderId, HopPayload[]>();
  const oneByOne: HopPayload[] = [];
  for (const payload of payloads) {
    if (await passOver(payload)) oneByOne.push(payload);
    else {
      const group = direct.get(payload.target.provider) ?? [];
      group.push(payload);
      direct.set(payload.target.provider, group);
    }
  }
  await Promise.all([
    ...[...direct].map(([provider, group]) =>
      enqueueMany(p, provider, group).catch((err: unknown) => group.forEach((payload) => failed.set(payload.jobId, err))),
    ),
    ...oneByOne.map((payload) => dispatchHop(p, payload).catch((err: unknown) => void failed.set(payload.jobId, err))),
  ]);
  return failed;
}

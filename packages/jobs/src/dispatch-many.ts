import type { Decision } from '@mana/routing';
import type { HopPayload } from './payloads.js';
import type { Pipeline } from './pipeline.js';
import { dispatchDecision, dispatchHop, enqueueMany } from './dispatch.js';

/**
 * Queues hop 0 of many jobs at once (a batch's lines): the routing decision
 * is made once per distinct target (and priority, tolerance, whether the job
 * can move), and jobs their first target takes go to BullMQ with one
 * addBulk per queue instead of one round trip each. The rest go through
 * dispatchHop one by one, as a single job would. Returns the jobs that
 * could not be queued, with the reason: their records are the caller's to fail.
 */
export async function dispatchMany(p: Pipeline, payloads: readonly HopPayload[]): Promise<Map<string, unknown>> {
  const failed = new Map<string, unknown>();
  const decisions = new Map<string, Promise<Decision>>();
  const decisionFor = (payload: HopPayload) => {
    const canMove = p.options.autoFallbackEnabled && payload.chain[payload.hop + 1] !== undefined;
    const key = `${payload.target.id}|${payload.priority}|${payload.maxWaitMs}|${canMove}|${payload.hop}`;
    let decision = decisions.get(key);
    if (!decision) decisions.set(key, (decision = dispatchDecision(p, payload)));
    return decision;
  };
  const direct = new Map<string, HopPayload[]>();
  const oneByOne: HopPayload[] = [];
  for (const payload of payloads) {
    if ((await decisionFor(payload)).action !== 'queue') oneByOne.push(payload);
    else {
      const group = direct.get(payload.target.id) ?? [];
      group.push(payload);
      direct.set(payload.target.id, group);
    }
  }
  await Promise.all([
    ...[...direct.values()].map((group) => enqueueMany(p, group).catch((err: unknown) => group.forEach((payload) => failed.set(payload.jobId, err)))),
    ...oneByOne.map((payload) => dispatchHop(p, payload).catch((err: unknown) => void failed.set(payload.jobId, err))),
  ]);
  return failed;
}

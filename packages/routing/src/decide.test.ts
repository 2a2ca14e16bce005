import { describe, expect, it } from 'vitest';
import { parseTarget, type Target } from '@mana/aliases';
import { ProviderError, ValidationError, serializeError } from '@mana/errors';
import { decide } from './decide.js';
import type { Decision, JobView, RoutingEvent } from './types.js';

const t = (id: string): Target => {
  const parsed = parseTarget(id);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.target;
};
const LOCAL = t('ollama/gemma3:4b');
const CLOUD = t('google/gemini-2.0-flash');
const chain = [LOCAL, CLOUD];
const job = (over: Partial<JobView> = {}): JobView => ({ chain, hop: 0, maxWaitMs: 5_000, ...over });
const on = { autoFallback: true };
const unavailable = serializeError(new ProviderError('provider_unavailable', 'connection refused', { provider: 'ollama', target: LOCAL.id }));
const badRequest = serializeError(new ValidationError('messages: required', 'messages'));
const rateLimited = serializeError(new ProviderError('provider_rate_limited', '429', { provider: 'google', target: CLOUD.id, retryAfterMs: 7_000 }));
const rateLimitedBare = serializeError(new ProviderError('provider_rate_limited', '429', { provider: 'google', target: CLOUD.id }));
const rateLimitedShort = serializeError(new ProviderError('provider_rate_limited', '429', { provider: 'google', target: CLOUD.id, retryAfterMs: 1_500 }));
const cloudFirst = { chain: [CLOUD, t('groq/llama-3.3-70b-versatile')] };
const cloud503 = serializeError(new ProviderError('provider_unavailable', '503', { provider: 'google', target: CLOUD.id, upstreamStatus: 503 }));
const gpu503 = serializeError(new ProviderError('provider_unavailable', 'server busy', { provider: 'ollama', target: LOCAL.id, upstreamStatus: 503 }));
const quick = { autoFallback: true, transientRetryMs: 250 };
const tooLong = serializeError(
  new ProviderError('context_length_exceeded', 'maximum context length is 8192 tokens', { provider: 'google', target: CLOUD.id, upstreamStatus: 400 }),
);
const NOW = 1_000_000;

type Row = [name: string, job: JobView, event: RoutingEvent, expected: Partial<Decision> & { action: Decision['action'] }, policy?: { autoFallback: boolean }];

const rows: Row[] = [
  // Dispatch: where a hop is queued.
  ['ready target is queued', job(), { type: 'dispatch', target: { state: 'ready' } }, { action: 'queue' }],
  [
    'down target with a next one is skipped',
    job(),
    { type: 'dispatch', target: { state: 'unavailable', reason: 'every GPU server is down' } },
    { action: 'move-on', status: 'skipped', reason: 'failover' },
  ],
  ['down last target is queued anyway (it runs when back)', job({ hop: 1 }), { type: 'dispatch', target: { state: 'unavailable', reason: 'breaker open' } }, { action: 'queue' }],
  ['down target without fallback is queued', job(), { type: 'dispatch', target: { state: 'unavailable', reason: 'down' } }, { action: 'queue' }, { autoFallback: false }],
  [
    'a model no GPU has moves on at once',
    job(),
    { type: 'dispatch', target: { state: 'missing', reason: 'no GPU has gemma3:4b' } },
    { action: 'move-on', status: 'skipped', reason: 'failover' },
  ],
  [
    'a model no GPU has, as the only target, fails now',
    job({ chain: [LOCAL] }),
    { type: 'dispatch', target: { state: 'missing', reason: 'no GPU has gemma3:4b' } },
    { action: 'fail', exhausted: false },
  ],
  [
    'a model no GPU has, last of a moved chain, fails exhausted',
    job({ chain: [CLOUD, LOCAL], hop: 1 }),
    { type: 'dispatch', target: { state: 'missing', reason: 'no GPU has it' } },
    { action: 'fail', exhausted: true },
  ],
  ['wait within tolerance is queued', job(), { type: 'dispatch', target: { state: 'backlogged', waitMs: 5_000 } }, { action: 'queue' }],
  ['wait past tolerance overflows', job(), { type: 'dispatch', target: { state: 'backlogged', waitMs: 5_001 } }, { action: 'move-on', status: 'spilled', reason: 'overflow' }],
  ['batch (no tolerance) never overflows', job({ maxWaitMs: null }), { type: 'dispatch', target: { state: 'backlogged', waitMs: 1e9 } }, { action: 'queue' }],
  ['overflow needs a next target', job({ chain: [LOCAL] }), { type: 'dispatch', target: { state: 'backlogged', waitMs: 1e9 } }, { action: 'queue' }],
  // A hop failed.
  ['retryable failure moves on', job(), { type: 'hop-failed', error: unavailable, now: NOW }, { action: 'move-on', status: 'failed', reason: 'failover' }],
  ['client error fails, not rerouted', job(), { type: 'hop-failed', error: badRequest, now: NOW }, { action: 'fail', exhausted: false }],
  ['retryable failure at the end of a moved chain is exhausted', job({ hop: 1 }), { type: 'hop-failed', error: unavailable, now: NOW }, { action: 'fail', exhausted: true }],
  [
    'retryable failure of a one-target chain fails with its own error',
    job({ chain: [LOCAL] }),
    { type: 'hop-failed', error: unavailable, now: NOW },
    { action: 'fail', exhausted: false },
  ],
  ['no fallback: a retryable failure fails', job(), { type: 'hop-failed', error: unavailable, now: NOW }, { action: 'fail', exhausted: false }, { autoFallback: false }],
  [
    'pinned job retries after 1 s',
    job({ chain: [LOCAL], retryUntil: NOW + 60_000 }),
    { type: 'hop-failed', error: unavailable, now: NOW },
    { action: 'retry', delayMs: 1_000, attempt: 1 },
  ],
  [
    'pinned job backs off exponentially',
    job({ chain: [LOCAL], retryUntil: NOW + 600_000, attempt: 3 }),
    { type: 'hop-failed', error: unavailable, now: NOW },
    { action: 'retry', delayMs: 8_000, attempt: 4 },
  ],
  [
    'pinned backoff is capped at a minute',
    job({ chain: [LOCAL], retryUntil: NOW + 9e9, attempt: 20 }),
    { type: 'hop-failed', error: unavailable, now: NOW },
    { action: 'retry', delayMs: 60_000 },
  ],
  ['pinned job past its window fails', job({ chain: [LOCAL], retryUntil: NOW + 500 }), { type: 'hop-failed', error: unavailable, now: NOW }, { action: 'fail', exhausted: false }],
  // A cloud 5xx: one quick retry on the same target first (when on).
  [
    'cloud 5xx, quick retry on: once more on the same target',
    job(cloudFirst),
    { type: 'hop-failed', error: cloud503, now: NOW },
    { action: 'retry', delayMs: 250, attempt: 1 },
    quick,
  ],
  ['cloud 5xx again: the next target', job({ ...cloudFirst, attempt: 1 }), { type: 'hop-failed', error: cloud503, now: NOW }, { action: 'move-on', reason: 'failover' }, quick],
  ['cloud 5xx, quick retry off: the next target at once', job(cloudFirst), { type: 'hop-failed', error: cloud503, now: NOW }, { action: 'move-on' }],
  ['a GPU 5xx is never retried in place (its next hop may be a spill)', job(), { type: 'hop-failed', error: gpu503, now: NOW }, { action: 'move-on' }, quick],
  ['a cloud connection failure (no status) is not a transient 5xx', job(cloudFirst), { type: 'hop-failed', error: unavailable, now: NOW }, { action: 'move-on' }, quick],
  // 429: bounded tries on the same target, then the next one.
  [
    '429 without Retry-After: tried again after a jittered 0.5 s',
    job(cloudFirst),
    { type: 'hop-failed', error: rateLimitedBare, now: NOW, jitter: 0.5 },
    { action: 'retry', delayMs: 500, attempt: 1 },
  ],
  [
    '429 again: 1 s (× jitter)',
    job({ ...cloudFirst, attempt: 1 }),
    { type: 'hop-failed', error: rateLimitedBare, now: NOW, jitter: 0 },
    { action: 'retry', delayMs: 500, attempt: 2 },
  ],
  [
    '429 a third time: the next target',
    job({ ...cloudFirst, attempt: 2 }),
    { type: 'hop-failed', error: rateLimitedBare, now: NOW },
    { action: 'move-on', status: 'failed', reason: 'failover' },
  ],
  ['429 asking for a short wait: honoured', job(cloudFirst), { type: 'hop-failed', error: rateLimitedShort, now: NOW }, { action: 'retry', delayMs: 1_500 }],
  ['429 asking for longer than 4 s: the next target at once', job(cloudFirst), { type: 'hop-failed', error: rateLimited, now: NOW }, { action: 'move-on', reason: 'failover' }],
  ['429 on the last target: waits as asked', job({ hop: 1 }), { type: 'hop-failed', error: rateLimited, now: NOW }, { action: 'retry', delayMs: 7_000, attempt: 1 }],
  ['429 on the last target, tries spent: fails', job({ hop: 1, attempt: 2 }), { type: 'hop-failed', error: rateLimited, now: NOW }, { action: 'fail', exhausted: true }],
  [
    '429 on a pinned job: keeps trying within its window',
    job({ chain: [CLOUD], attempt: 5, retryUntil: NOW + 60_000 }),
    { type: 'hop-failed', error: rateLimited, now: NOW },
    { action: 'retry', delayMs: 7_000 },
  ],
  // A hop that had streamed part of its answer: the same target again would start it over.
  ['cut after streaming: the next target continues', job(cloudFirst), { type: 'hop-failed', error: cloud503, now: NOW, streamed: true }, { action: 'move-on', reason: 'failover' }],
  [
    'cut after streaming on the last target: fails, no retry',
    job({ hop: 1 }),
    { type: 'hop-failed', error: unavailable, now: NOW, streamed: true },
    { action: 'fail', exhausted: true },
  ],
  [
    'cut after streaming, pinned: fails, no retry',
    job({ chain: [CLOUD], retryUntil: NOW + 60_000 }),
    { type: 'hop-failed', error: unavailable, now: NOW, streamed: true },
    { action: 'fail' },
  ],
  ['a 429 after streaming: moves on, no retry', job(cloudFirst), { type: 'hop-failed', error: rateLimitedShort, now: NOW, streamed: true }, { action: 'move-on' }],
  ['a client error after streaming: fails', job(cloudFirst), { type: 'hop-failed', error: badRequest, now: NOW, streamed: true }, { action: 'fail', exhausted: false }],
  [
    'a continuing target that refuses the answer so far: fails saying so',
    job({ ...cloudFirst, hop: 1, continues: 40 }),
    { type: 'hop-failed', error: badRequest, now: NOW },
    {
      action: 'fail',
      error: expect.objectContaining({ message: expect.stringContaining('cut after 40 characters and groq/llama-3.3-70b-versatile could not continue it') }) as never,
    },
  ],
  [
    'a reset connection to a cloud target: one quick retry',
    job(cloudFirst),
    { type: 'hop-failed', error: { ...unavailable, reset: true }, now: NOW },
    { action: 'retry', delayMs: 250 },
    quick,
  ],
  [
    'a reset connection to a GPU: no quick retry (its next hop is a spill)',
    job(),
    { type: 'hop-failed', error: { ...unavailable, reset: true }, now: NOW },
    { action: 'move-on' },
    quick,
  ],
  ['a refused connection (down): straight on', job(cloudFirst), { type: 'hop-failed', error: unavailable, now: NOW }, { action: 'move-on' }, quick],
  ['too long for this target: the next one', job(cloudFirst), { type: 'hop-failed', error: tooLong, now: NOW }, { action: 'move-on', status: 'failed' }],
  [
    'too long for the last target too: fails as the request’s size (400), not exhausted',
    job({ hop: 1 }),
    { type: 'hop-failed', error: tooLong, now: NOW },
    { action: 'fail', exhausted: false },
  ],
  ['unfit (estimated past its context): skipped', job(), { type: 'dispatch', target: { state: 'unfit', reason: 'prompt too long' } }, { action: 'move-on', status: 'skipped' }],
  ['unfit, last target: asked anyway (the estimate is rough)', job({ hop: 1 }), { type: 'dispatch', target: { state: 'unfit', reason: 'prompt too long' } }, { action: 'queue' }],
  // A waiting local hop.
  ['waited past tolerance spills', job(), { type: 'waited-too-long', because: 'waited past its tolerance' }, { action: 'move-on', status: 'spilled', reason: 'overflow' }],
  ['waited too long with nowhere to go stays', job({ chain: [LOCAL] }), { type: 'waited-too-long', because: 'x' }, { action: 'stay' }],
  ['no usable GPU fails over', job(), { type: 'no-usable-gpu', because: 'every GPU server is down or drained' }, { action: 'move-on', status: 'skipped', reason: 'failover' }],
  ['no usable GPU, nowhere to go: waits for one', job({ chain: [LOCAL] }), { type: 'no-usable-gpu', because: 'down' }, { action: 'stay' }],
];

describe('decide: the job’s next step', () => {
  it.each(rows)('%s', (_name, view, event, expected, policy = on) => {
    expect(decide(view, event, policy)).toMatchObject(expected);
  });

  it('says why in the error it closes a hop with', () => {
    const decision = decide(job(), { type: 'dispatch', target: { state: 'missing', reason: 'no GPU has gemma3:4b' } }, on);
    expect(decision).toMatchObject({ error: { code: 'provider_unavailable', message: 'ollama/gemma3:4b skipped: no GPU has gemma3:4b', target: 'ollama/gemma3:4b' } });
    const overflow = decide(job(), { type: 'dispatch', target: { state: 'backlogged', waitMs: 9_000 } }, on);
    expect(overflow).toMatchObject({ error: { message: 'ollama/gemma3:4b passed over: estimated wait 9000 ms exceeds the tolerance of 5000 ms' } });
  });

  it('names the window in the error of a pinned job that ran out of it', () => {
    const decision = decide(job({ chain: [LOCAL], retryUntil: NOW + 10, attempt: 2 }), { type: 'hop-failed', error: unavailable, now: NOW }, on);
    expect(decision).toMatchObject({ action: 'fail', error: { code: 'provider_unavailable', message: expect.stringContaining('completion window closed (3 tries') } });
  });
});

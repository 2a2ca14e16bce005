import { describe, expect, it } from 'vitest';
import { IDLE_POLL_MS, QueueHints } from './queue-hints.js';

const NOW = 1_000_000;

/** A queue found empty once, so its hops are counted from then on. */
function counted(): QueueHints {
  const hints = new QueueHints();
  hints.foundEmpty('m', hints.fetching('m'), NOW);
  return hints;
}

describe('QueueHints', () => {
  it('fetches from a queue it knows nothing of until it is found empty', () => {
    const hints = new QueueHints();
    expect(hints.worthFetching('m', NOW)).toBe(true);
    for (let i = 0; i < 5; i++) expect(hints.took('m', NOW)).toBe(false);
    expect(hints.worthFetching('m', NOW)).toBe(true);
    hints.foundEmpty('m', hints.fetching('m'), NOW);
    expect(hints.worthFetching('m', NOW)).toBe(false);
    expect(hints.worthFetching('m', NOW + IDLE_POLL_MS)).toBe(true);
  });

  it('takes a counted queue as empty once its announced hops are taken, without a fetch to confirm it', () => {
    const hints = counted();
    hints.announced('m', 1);
    hints.announced('m', 1);
    expect(hints.worthFetching('m', NOW)).toBe(true);
    expect(hints.took('m', NOW)).toBe(false);
    expect(hints.worthFetching('m', NOW)).toBe(true);
    expect(hints.took('m', NOW)).toBe(true);
    expect(hints.worthFetching('m', NOW)).toBe(false);
    // The slow poll still looks, for hops nobody announced.
    expect(hints.worthFetching('m', NOW + IDLE_POLL_MS)).toBe(true);
    hints.announced('m', 1);
    expect(hints.worthFetching('m', NOW)).toBe(true);
  });

  it('drains hops nobody announced at once: taking one makes the count unknown until the queue is found empty', () => {
    const hints = counted();
    // Found by the poll: a delayed retry come due, a stalled hop put back.
    expect(hints.took('m', NOW + IDLE_POLL_MS)).toBe(false);
    for (let i = 0; i < 3; i++) expect(hints.took('m', NOW + IDLE_POLL_MS)).toBe(false);
    expect(hints.worthFetching('m', NOW + IDLE_POLL_MS)).toBe(true);
  });

  it('counts a hop announced while a fetch was on its way: the fetch may have run before it was queued', () => {
    const hints = counted();
    hints.announced('m', 1);
    const heard = hints.fetching('m');
    hints.announced('m', 1); // arrives before the fetch's answer
    hints.foundEmpty('m', heard, NOW);
    expect(hints.worthFetching('m', NOW)).toBe(true);
    expect(hints.took('m', NOW)).toBe(true);
    expect(hints.worthFetching('m', NOW)).toBe(false);
  });

  it('skips a model another server is loading until then, or until a hop is announced', () => {
    const hints = counted();
    hints.announced('m', 1);
    hints.skipUntil('m', NOW + 50);
    expect(hints.worthFetching('m', NOW)).toBe(false);
    expect(hints.worthFetching('m', NOW + 50)).toBe(true);
    hints.skipUntil('m', NOW + 50);
    hints.announced('m', 1);
    expect(hints.worthFetching('m', NOW)).toBe(true);
  });

  it('counts every hop of a batch announced at once, and forgets the count for an announcement without one', () => {
    const hints = counted();
    hints.announced('m', 3);
    expect(hints.took('m', NOW)).toBe(false);
    expect(hints.took('m', NOW)).toBe(false);
    expect(hints.took('m', NOW)).toBe(true);
    hints.announced('m', undefined); // an earlier version's dispatch: how many is unknown
    for (let i = 0; i < 5; i++) expect(hints.took('m', NOW)).toBe(false);
    expect(hints.worthFetching('m', NOW)).toBe(true);
  });

  it('keeps each model apart', () => {
    const hints = counted();
    hints.announced('other', 1);
    expect(hints.worthFetching('m', NOW)).toBe(false);
    expect(hints.worthFetching('other', NOW)).toBe(true);
  });
});

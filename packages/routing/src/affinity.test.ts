import { describe, expect, it } from 'vitest';
import { type ModelDemand, pickModel } from './affinity.js';

const d = (model: string, over: Partial<ModelDemand> = {}): ModelDemand => ({
  model,
  waiting: 1,
  loadedHere: false,
  loadedElsewhereSlots: 0,
  serviceMs: 200,
  loadMs: 3_000,
  ...over,
});

const rows: Array<[name: string, demands: ModelDemand[], expected: string | undefined, preference?: number, here?: { busy: boolean; holds: boolean }]> = [
  ['nothing waiting: nothing to take', [d('a', { waiting: 0 }), d('b', { waiting: 0, loadedHere: true })], undefined],
  ['work for the loaded model comes first', [d('a', { waiting: 9 }), d('b', { loadedHere: true })], 'b'],
  ['an urgent hop of a model no one holds preempts the loaded one', [d('a', { oldestWaitedMs: 2_600, toleranceMs: 5_000 }), d('b', { loadedHere: true, waiting: 9 })], 'a'],
  ['not urgent yet: stay on the loaded model', [d('a', { oldestWaitedMs: 2_000, toleranceMs: 5_000 }), d('b', { loadedHere: true })], 'b'],
  ['urgent but held by another server: leave it to that one', [d('a', { oldestWaitedMs: 4_000, toleranceMs: 5_000, loadedElsewhereSlots: 2 }), d('b', { loadedHere: true })], 'b'],
  ['batch work (no tolerance) never preempts', [d('a', { oldestWaitedMs: 1e9, toleranceMs: null }), d('b', { loadedHere: true })], 'b'],
  ['idle with cold work no one holds: load it', [d('a'), d('b', { loadedHere: true, waiting: 0 })], 'a'],
  ['holders drain the queue before a load would finish: stay idle', [d('a', { waiting: 4, loadedElsewhereSlots: 2 })], undefined],
  ['a backlog longer than two loads: load it here too', [d('a', { waiting: 80, loadedElsewhereSlots: 2 })], 'a'],
  ['a backlog shorter than two loads: leave it to its holders', [d('a', { waiting: 48, loadedElsewhereSlots: 4, serviceMs: 500 })], undefined],
  ['work no server holds before work others serve, however long their queue', [d('a', { waiting: 150, loadedElsewhereSlots: 2, serviceMs: 30 }), d('b', { waiting: 60 })], 'b'],
  ['among cold models, the longest queue first', [d('a', { waiting: 2 }), d('b', { waiting: 5 })], 'b'],
  ['among loaded models, the longest queue first', [d('a', { waiting: 2, loadedHere: true }), d('b', { waiting: 5, loadedHere: true })], 'b'],
  ['cold start, server 0 takes the first of equals', [d('a'), d('b')], 'a', 0],
  ['cold start, server 1 takes the next of equals', [d('a'), d('b')], 'b', 1],
  ['a free engine (load 0) always takes work', [d('a', { waiting: 1, loadedElsewhereSlots: 8, loadMs: 0 })], 'a'],
  ['a busy server leaves a load to an idle one that has the model', [d('a', { idleElsewhere: true })], undefined, 0, { busy: true, holds: true }],
  ['a busy server loads it when no idle one has the model', [d('a', { idleElsewhere: false })], 'a', 0, { busy: true, holds: true }],
  ['an idle server loads it even if another is idle too', [d('a', { idleElsewhere: true })], 'a', 0, { busy: false, holds: true }],
  ['a server holding a model leaves a load to an idle one holding none', [d('a', { idleElsewhere: true, emptyElsewhere: true })], undefined, 0, { busy: false, holds: true }],
  ['a server holding nothing loads it', [d('a', { idleElsewhere: true, emptyElsewhere: true })], 'a', 0, { busy: false, holds: false }],
];

describe('pickModel: which queue a GPU with a free slot pulls from', () => {
  it.each(rows)('%s', (_name, demands, expected, preference, here) => {
    expect(pickModel(demands, preference, here)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import type { Fleet, GpuState } from './fleet.js';
import { ASSUMED_LOAD_MS, estimateWaitMs } from './overflow.js';
import { BULLMQ_PRIORITY } from './payloads.js';

const gpu = (name: string, over: Partial<GpuState> = {}): GpuState => ({
  name,
  slots: 2,
  engine: 'ollama',
  usable: true,
  models: ['gemma3:4b', 'nomic-embed-text'],
  loaded: ['gemma3:4b'],
  busy: 0,
  ...over,
});
const fleet = (...gpus: GpuState[]): Fleet => ({ gpus });
const backlog = (waiting: number, active = 0, priority = BULLMQ_PRIORITY.async) => ({ waitingByPriority: { [priority]: waiting }, active, delayed: 0 });

describe('estimateWaitMs: the wait of a new local job, per model', () => {
  it.each([
    ['free slots on a server holding the model: no wait', fleet(gpu('a')), backlog(1), 200, 0],
    ['work ahead beyond the free slots: rounds of its own service time', fleet(gpu('a', { busy: 2 })), backlog(3, 2), 200, 400],
    ['an embedding’s 30 ms is not a chat answer’s seconds', fleet(gpu('a', { busy: 2 })), backlog(3, 2), 30, 60],
    ['counts only servers that have the model', fleet(gpu('a', { busy: 2 }), gpu('b', { models: ['qwen3:8b'] })), backlog(3, 2), 200, 400],
    ['a server with the model adds its slots', fleet(gpu('a', { busy: 2 }), gpu('b', { slots: 4 })), backlog(3, 2), 200, 0],
    ['no server holds it in memory: plus a load', fleet(gpu('a', { loaded: [] })), backlog(0), 200, ASSUMED_LOAD_MS],
    ['other models running on the same server take its slots', fleet(gpu('a', { busy: 2 })), backlog(0, 0), 200, 200],
    ['no usable server has the model: it would wait forever', fleet(gpu('a', { usable: false })), backlog(0), 200, Number.POSITIVE_INFINITY],
  ])('%s', (_name, f, b, serviceMs, expected) => {
    expect(estimateWaitMs('gemma3:4b', 'async', { fleet: f, backlog: b, serviceMs, loadMs: undefined })).toBe(expected);
  });

  it('work of a lower priority is not ahead of an interactive job', () => {
    const busy = fleet(gpu('a', { busy: 2 }));
    expect(estimateWaitMs('gemma3:4b', 'interactive', { fleet: busy, backlog: backlog(10, 2, BULLMQ_PRIORITY.batch), serviceMs: 100, loadMs: undefined })).toBe(100);
    expect(estimateWaitMs('gemma3:4b', 'batch', { fleet: busy, backlog: backlog(10, 2, BULLMQ_PRIORITY.batch), serviceMs: 100, loadMs: undefined })).toBe(600);
  });
});

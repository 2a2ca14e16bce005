import { afterEach, describe, expect, it } from 'vitest';
import { startApi } from '@mana/api';
import { createLogger } from '@mana/logging';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function chat(s: Stack, text: string, headers: Record<string, string> = {}) {
  return fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: text }] }),
  });
}

/** The value of one sample line, e.g. `mana_gpu_up{gpu="gpu0"}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? wanted.every((w) => l.includes(w)) : false));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  it('shows an unfinished batch with its progress, and drops it once it completes', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 40 } });
    const rows = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ custom_id: `m${i}`, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: `item ${i} a b` }] } }),
    );
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([rows.join('\n')]), 'm.jsonl');
    const file = (await (await fetch(`${stack.baseURL}/files`, { method: 'POST', body: form })).json()) as { id: string };
    const created = await fetch(`${stack.baseURL}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    const { id } = (await created.json()) as { id: string };
    const scrape = async () => (await fetch(`${stack!.api.url}/metrics`)).text();
    await expect.poll(async () => sample(await scrape(), 'mana_batch_items', { batch: id, state: 'total' })).toBe(6);
    await expect.poll(async () => sample(await scrape(), 'mana_batch_items', { batch: id, state: 'completed' })).toBeGreaterThan(0);
    await expect.poll(async () => ((await (await fetch(`${stack!.baseURL}/batches/${id}`)).json()) as { status: string }).status, { timeout: 10_000 }).toBe('completed');
    expect(sample(await scrape(), 'mana_batch_items', { batch: id, state: 'total' })).toBeUndefined();
    // Batch items count in the cluster-wide job histogram too: within a stats batch (≤ 20 ms) of the last one finishing.
    await expect.poll(async () => sample(await scrape(), 'mana_job_phase_seconds_count', { phase: 'total', kind: 'chat', provider: 'ollama', outcome: 'succeeded' })).toBe(6);
  });

  it('reports queues, GPUs, fallbacks by reason, job times and tokens after a scripted workload; global values agree across API processes', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 40 } });
    expect((await chat(stack, 'plain one')).status).toBe(200);
    // A failover: the GPU answers 500 once.
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 1 });
    expect((await chat(stack, 'fails over')).headers.get('x-mana-provider')).toBe('google');
    // An overflow: the GPU is busy and an impatient request will not wait.
    await expect.poll(async () => (await stack!.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
    const busy = chat(stack, 'keep the gpu busy a b c d e f', { 'x-mana-priority': 'batch' });
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    // Each GPU's holder refreshes its busy count every tick.
    await expect.poll(async () => sample(await (await fetch(`${stack!.api.url}/metrics`)).text(), 'mana_gpu_busy_slots', { gpu: 'gpu0' })).toBe(1);
    expect((await chat(stack, 'impatient', { 'x-mana-max-wait-ms': '10' })).headers.get('x-mana-provider')).toBe('google');
    await busy;

    // BullMQ settles a hop's own state just after the client has its answer: wait for the counts.
    const scrape = async () => (await fetch(`${stack!.api.url}/metrics`)).text();
    await expect.poll(async () => sample(await scrape(), 'mana_queue_jobs', { queue: 'ollama/gemma3:4b', state: 'failed' })).toBe(1);
    await expect.poll(async () => sample(await scrape(), 'mana_queue_jobs', { queue: 'google', state: 'completed' })).toBe(2);
    await expect.poll(async () => sample(await scrape(), 'mana_queue_jobs', { queue: 'ollama/gemma3:4b', state: 'completed' })).toBe(2);
    // A finished job's statistics are written within a stats batch (≤ 20 ms) of its end.
    const phases = async () =>
      sample(await scrape(), 'mana_job_phase_seconds_count', { phase: 'total', kind: 'chat', alias: 'mana/fast-text', provider: 'google', outcome: 'succeeded' });
    await expect.poll(phases).toBe(2);
    await expect
      .poll(async () => sample(await scrape(), 'mana_job_phase_seconds_count', { phase: 'total', kind: 'chat', alias: 'mana/fast-text', provider: 'ollama', outcome: 'succeeded' }))
      .toBe(2);
    const text = await scrape();
    const edge = { from: 'ollama/gemma3:4b', to: 'google/gemini-2.0-flash' };
    expect(sample(text, 'mana_fallbacks_total', { ...edge, reason: 'failover' })).toBe(1);
    expect(sample(text, 'mana_fallbacks_total', { ...edge, reason: 'overflow' })).toBe(1);
    expect(sample(text, 'mana_gpu_up', { gpu: 'gpu0' })).toBe(1);
    expect(sample(text, 'mana_queue_jobs', { queue: 'ollama/gemma3:4b', state: 'completed' })).toBe(2);
    expect(sample(text, 'mana_queue_jobs', { queue: 'ollama/gemma3:4b', state: 'failed' })).toBe(1);
    expect(sample(text, 'mana_queue_jobs', { queue: 'google', state: 'completed' })).toBe(2);
    expect(sample(text, 'mana_job_duration_seconds_count', { kind: 'chat', alias: 'mana/fast-text', provider: 'ollama', outcome: 'done' })).toBe(2);
    expect(sample(text, 'mana_job_duration_seconds_count', { kind: 'chat', alias: 'mana/fast-text', provider: 'google', outcome: 'done' })).toBe(2);
    // Every job's phases, cluster-wide: two answered by the GPU, two by Gemini (one after a failed GPU attempt).
    const gpuRun = { phase: 'run', kind: 'chat', alias: 'mana/fast-text', provider: 'ollama', outcome: 'succeeded' };
    expect(sample(text, 'mana_job_phase_seconds_count', gpuRun)).toBe(2);
    expect(sample(text, 'mana_job_phase_seconds_count', { ...gpuRun, phase: 'total' })).toBe(2);
    expect(sample(text, 'mana_job_phase_seconds_count', { ...gpuRun, phase: 'wait', provider: 'google' })).toBe(2);
    // Each GPU generation is several 40 ms tokens: none ran in under 0.1 s, both in under 5.
    expect(sample(text, 'mana_job_phase_seconds_bucket', { ...gpuRun, le: '0.1' })).toBe(0);
    expect(sample(text, 'mana_job_phase_seconds_bucket', { ...gpuRun, le: '5' })).toBe(2);
    expect(sample(text, 'mana_job_phase_seconds_sum', gpuRun)).toBeGreaterThan(0.2);
    expect(sample(text, 'mana_tokens_total', { provider: 'ollama', direction: 'out' })).toBeGreaterThan(0);
    expect(sample(text, 'mana_tokens_total', { provider: 'google', direction: 'in' })).toBeGreaterThan(0);
    // The GPU's 500 is one provider error of its class, though the job itself succeeded on Gemini.
    expect(sample(text, 'mana_provider_errors_total', { provider: 'ollama', code: 'provider_unavailable' })).toBe(1);
    expect(sample(text, 'mana_http_requests_total', { route: '/v1/chat/completions', status: '200' })).toBe(4);

    // A second API process reads the same cluster-wide values.
    const other = await startApi(stack.config, createLogger('silent', 'other'));
    try {
      const second = await (await fetch(`${other.url}/metrics`)).text();
      expect(sample(second, 'mana_fallbacks_total', { ...edge, reason: 'overflow' })).toBe(1);
      expect(sample(second, 'mana_queue_jobs', { queue: 'ollama/gemma3:4b', state: 'completed' })).toBe(2);
      expect(sample(second, 'mana_job_phase_seconds_count', gpuRun)).toBe(2);
      expect(sample(second, 'mana_provider_errors_total', { provider: 'ollama', code: 'provider_unavailable' })).toBe(1);
      expect(sample(second, 'mana_tokens_total', { provider: 'ollama', direction: 'out' })).toBe(sample(text, 'mana_tokens_total', { provider: 'ollama', direction: 'out' }));
      expect(sample(second, 'mana_http_requests_total', { route: '/v1/chat/completions', status: '200' })).toBeUndefined();
    } finally {
      await other.close(0);
    }
  });
});

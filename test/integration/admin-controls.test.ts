import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function chat(s: Stack, text: string, model = 'mana/fast-text') {
  return fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mana-priority': 'batch' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: text }] }),
  });
}

const admin = (s: Stack, path: string) => fetch(`${s.api.url}${path}`, { method: 'POST' });
const chats = (s: Stack, gpu: number) => s.gpus[gpu]!.stats.snapshot().requests['/api/chat gemma3:4b'] ?? 0;

describe('operator controls', () => {
  it('drains a GPU under load: it finishes what it runs, takes nothing new, and no job is lost; resume brings it back', async () => {
    stack = await startStack({ gpus: 2, maxConcurrent: 1, ollama: { perTokenMs: 30 } });
    const first = Array.from({ length: 8 }, (_, i) => chat(stack!, `job ${i} a b c`));
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    expect((await admin(stack, '/admin/gpus/gpu0/drain')).status).toBe(200);
    // The worker sees the drain within a tick; whatever it had started still finishes.
    await expect.poll(() => stack!.workers[0]!.gpuWorkers[0]!.takingJobs).toBe(false);
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().inFlight).toBe(0);
    const atDrain = chats(stack, 0);
    const responses = await Promise.all(first);
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(chats(stack, 0)).toBe(atDrain);
    expect(chats(stack, 0) + chats(stack, 1)).toBe(8);

    expect((await admin(stack, '/admin/gpus/gpu0/resume')).status).toBe(200);
    await expect
      .poll(
        async () => {
          await Promise.all(Array.from({ length: 4 }, (_, i) => chat(stack!, `after ${i}`)));
          return chats(stack!, 0);
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThan(atDrain);
  });

  it('a drained GPU takes nothing queued after the drain, even the job its idle worker was already waiting for', async () => {
    // Without fallback, work waits for its first target instead of moving on.
    stack = await startStack({ gpus: 1, maxConcurrent: 1, env: { AUTO_FALLBACK_ENABLED: 'false' } });
    expect((await admin(stack, '/admin/gpus/gpu0/drain')).status).toBe(200);
    await expect.poll(() => stack!.workers[0]!.gpuWorkers[0]!.takingJobs).toBe(false);
    const waiting = chat(stack, 'only the gpu');
    await expect.poll(async () => (await stack!.jobs())[0]?.status).toBe('queued');
    // A few worker ticks (250 ms each) later it is still waiting, and the GPU has seen nothing.
    const until = Date.now() + 1_000;
    await expect.poll(() => Date.now() > until, { timeout: 3_000 }).toBe(true);
    expect((await stack.jobs())[0]?.status).toBe('queued');
    expect(chats(stack, 0)).toBe(0);
    await admin(stack, '/admin/gpus/gpu0/resume');
    expect((await waiting).status).toBe(200);
    expect(chats(stack, 0)).toBe(1);
  });

  it('pauses and resumes a provider queue; paused work waits, nothing is lost', async () => {
    stack = await startStack({ gpus: 1 });
    expect(((await (await admin(stack, '/admin/queues/google/pause')).json()) as { paused: boolean }).paused).toBe(true);
    const waiting = chat(stack, 'to gemini', 'google/gemini-2.0-flash');
    await expect
      .poll(async () => {
        const google = (await stack!.status()).queues.google;
        return (google?.waiting ?? 0) + (google?.prioritized ?? 0);
      })
      .toBe(1);
    expect((await stack.jobs())[0]?.status).toBe('queued');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
    await admin(stack, '/admin/queues/google/resume');
    expect((await waiting).status).toBe(200);
  });

  it('names the known GPUs and queues when asked for an unknown one', async () => {
    stack = await startStack({ gpus: 1 });
    const res = await admin(stack, '/admin/gpus/gpu9/drain');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('GPUs: gpu0');
    expect((await admin(stack, '/admin/queues/openai/pause')).status).toBe(404);
  });
});

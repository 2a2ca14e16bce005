import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { replyText } from '@mana/emulators';
import { type SpawnedProcess, type Stack, spawnTs, startStack } from '@mana/testing';

const WORKER_MAIN = new URL('../../apps/worker/src/main.ts', import.meta.url).pathname;

let stack: Stack | undefined;
const children: SpawnedProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.child.kill('SIGKILL');
  await stack?.close();
  stack = undefined;
});

function startWorkerProcess(s: Stack): SpawnedProcess {
  const child = spawnTs(WORKER_MAIN, [], s.env);
  children.push(child);
  return child;
}

const servingGpu = (line: string) => line.includes('"serving GPU"');

describe('worker processes', () => {
  it('a worker SIGKILLed mid-job: the job is recovered on another worker and answered exactly once', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, workers: 0, ollama: { perTokenMs: 120 } });
    const first = startWorkerProcess(stack);
    await first.waitForLine(servingGpu);
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
    const answer = client.chat.completions.create(
      { model: 'mana/fast-text', messages: [{ role: 'user', content: 'survive a crash a b c' }] },
      { headers: { 'x-mana-priority': 'batch' } },
    );
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const second = startWorkerProcess(stack);
    await second.waitForLine(servingGpu);
    const result = await answer;
    expect(result.choices[0]?.message.content).toBe(replyText({ model: 'gemma3:4b', lastUserText: 'survive a crash a b c', images: 0, promptWords: 0, json: false }));
    const [job] = await stack.jobs();
    expect(job?.status).toBe('succeeded');
    // One hop, run twice on the GPU (the first run died with its worker), one answer.
    expect(job?.hops).toHaveLength(1);
    expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(2);
  });

  it('SIGTERM: a worker stops taking jobs and finishes the one in flight before exiting', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, workers: 0, ollama: { perTokenMs: 100 } });
    const worker = startWorkerProcess(stack);
    await worker.waitForLine(servingGpu);
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
    const answer = client.chat.completions.create(
      { model: 'mana/fast-text', messages: [{ role: 'user', content: 'finish me please' }] },
      { headers: { 'x-mana-priority': 'batch' } },
    );
    await expect.poll(() => stack!.gpus[0]!.stats.snapshot().busySlots).toBe(1);
    worker.child.kill('SIGTERM');
    expect((await answer).choices[0]?.message.content).toContain('finish me please');
    expect(await worker.exited).toBe(0);
    expect(stack.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBe(1);
  });

  it('a hop whose workers keep dying is given up on that target and served by the next one', async () => {
    stack = await startStack({ gpus: 1, maxConcurrent: 1, workers: 0, ollama: { perTokenMs: 300 } });
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
    const answer = client.chat.completions.create(
      { model: 'mana/fast-text', messages: [{ role: 'user', content: 'cursed a b c d e f g' }] },
      { headers: { 'x-mana-priority': 'batch' } },
    );
    // Three workers die under the hop (BullMQ's stall limit is 2), then a fourth gives up on the GPU.
    for (let death = 1; death <= 3; death++) {
      const worker = startWorkerProcess(stack);
      await worker.waitForLine(servingGpu);
      await expect.poll(() => stack!.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b'] ?? 0, { timeout: 15_000 }).toBe(death);
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    startWorkerProcess(stack);
    const result = await answer;
    expect(result.model).toBe('google/gemini-2.0-flash');
    const [job] = await stack.jobs();
    expect(job?.hops.map((h) => [h.target, h.status])).toEqual([
      ['ollama/gemma3:4b', 'failed'],
      ['google/gemini-2.0-flash', 'succeeded'],
    ]);
    expect(job?.hops[0]?.error?.message).toContain('kept dying');
  }, 60_000);
});

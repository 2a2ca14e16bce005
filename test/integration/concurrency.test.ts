import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function burst(s: Stack, count: number): Promise<string[]> {
  const client = new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 });
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: `request ${i}` }] }, { headers: { 'x-mana-max-wait-ms': '60000' } }),
    ),
  );
  return answers.map((a) => a.model);
}

describe('GPU concurrency cap', () => {
  it('3 GPUs × OLLAMA_MAX_CONCURRENT=2, 60 concurrent requests: each GPU sees at most, and exactly, 2 at once', async () => {
    // Emulated GPUs with more slots than the cap, so only Mana can be what holds the line at 2.
    stack = await startStack({ gpus: 3, maxConcurrent: 2, ollama: { slots: 8, perTokenMs: 15 } });
    const models = await burst(stack, 60);
    expect(models.every((m) => m === 'ollama/gemma3:4b')).toBe(true);
    for (const gpu of stack.gpus) {
      const stats = gpu.stats.snapshot();
      expect(stats.maxInFlight).toBe(2);
      expect(stats.requests['/api/chat gemma3:4b']).toBeGreaterThan(0);
    }
    expect(stack.gpus.reduce((n, g) => n + (g.stats.snapshot().requests['/api/chat gemma3:4b'] ?? 0), 0)).toBe(60);
  });

  it('holds the same cap with two worker processes started for the same GPUs', async () => {
    stack = await startStack({ gpus: 3, maxConcurrent: 2, workers: 2, ollama: { slots: 8, perTokenMs: 15 } });
    const serving = stack.workers.map((w) => w.gpuWorkers.filter((g) => g.active).length);
    expect(serving.reduce((a, b) => a + b, 0)).toBe(3);
    await burst(stack, 60);
    for (const gpu of stack.gpus) expect(gpu.stats.snapshot().maxInFlight).toBe(2);
  });
});

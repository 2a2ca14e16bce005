import OpenAI, { toFile } from 'openai';
import { afterEach, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function startBatchWithInteractiveSeen(reserved: string) {
  stack = await startStack({ gpus: 1, maxConcurrent: 2, ollama: { timeToFirstTokenMs: 150 }, env: { MANA_INTERACTIVE_RESERVED_SLOTS: reserved } });
  const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
  const chat = () => client.chat.completions.create({ model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: 'now' }] });
  // Interactive traffic is present: the GPU served some a moment ago.
  await chat();
  const gpu = stack.gpus[0]!;
  gpu.stats.reset();
  const rows = Array.from({ length: 12 }, (_, i) =>
    JSON.stringify({ custom_id: `b${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: `item ${i}` }] } }),
  );
  const file = await client.files.create({ file: await toFile(Buffer.from(rows.join('\n')), 'in.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await expect.poll(async () => (await client.batches.retrieve(batch.id)).request_counts?.completed ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
  return { gpu, chat, batchStatus: async () => (await client.batches.retrieve(batch.id)).status };
}

it('a GPU keeps its last slot for interactive work while there is some: a draining batch gets the other, an interactive request the kept one at once', async () => {
  const { gpu, chat, batchStatus } = await startBatchWithInteractiveSeen('1');
  expect(gpu.stats.snapshot().maxBusySlots).toBe(1);
  const answer = await chat();
  expect(answer.choices[0]?.message.content).toContain('now');
  // The interactive hop ran beside a batch item, in the kept slot, while the batch went on.
  expect(gpu.stats.snapshot().maxBusySlots).toBe(2);
  expect(await batchStatus()).toBe('in_progress');
});

it('with MANA_INTERACTIVE_RESERVED_SLOTS=0 a draining batch takes every slot', async () => {
  const { gpu } = await startBatchWithInteractiveSeen('0');
  expect(gpu.stats.snapshot().maxBusySlots).toBe(2);
});

import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type SpawnedProcess, type Stack, spawnTs, startStack } from '@mana/testing';

const API = new URL('../../apps/api/src/main.ts', import.meta.url).pathname;
const LINES = 5_000;

let stack: Stack | undefined;
let api: SpawnedProcess | undefined;
afterEach(async () => {
  api?.child.kill('SIGKILL');
  await stack?.close();
});

/** Every 250th line is broken JSON and every 400th repeats an earlier custom_id: real errors to find in the error file. */
function inputFile(): { text: string; valid: number; broken: number[]; duplicates: number[] } {
  const rows: string[] = [];
  const broken: number[] = [];
  const duplicates: number[] = [];
  for (let line = 1; line <= LINES; line++) {
    if (line % 250 === 0) {
      rows.push('{"custom_id": "broken", "method": "POST"');
      broken.push(line);
    } else if (line % 400 === 0) {
      rows.push(JSON.stringify({ custom_id: 'e1', method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: `again ${line}` } }));
      duplicates.push(line);
    } else rows.push(JSON.stringify({ custom_id: `e${line}`, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: `line ${line}` } }));
  }
  return { text: rows.join('\n') + '\n', valid: LINES - broken.length - duplicates.length, broken, duplicates };
}

describe('kill -9 of the API process while it reads a batch file', () => {
  it('another API process reads on: the batch completes with every line in the output or the error file, each once', async () => {
    stack = await startStack({ gpus: 2, maxConcurrent: 4, env: { MANA_BATCH_READER_QUIET_MS: '1000' } });
    api = spawnTs(API, [], { ...stack.env, MANA_LOG_LEVEL: 'info' });
    const { url } = JSON.parse(await api.waitForLine((l) => l.includes('"api listening"'))) as { url: string };
    const doomed = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const input = inputFile();
    const file = await doomed.files.create({ file: await toFile(Buffer.from(input.text), 'in.jsonl'), purpose: 'batch' });
    const created = await doomed.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    // Killed mid-file: some lines queued, most not yet read.
    await expect.poll(async () => (await doomed.batches.retrieve(created.id)).request_counts?.total ?? 0, { interval: 10, timeout: 10_000 }).toBeGreaterThan(0);
    api.child.kill('SIGKILL');
    await api.exited;
    const survivor = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
    const seenAtKill = (await survivor.batches.retrieve(created.id)).request_counts?.total ?? 0;
    expect(seenAtKill).toBeLessThan(LINES);

    await expect.poll(async () => (await survivor.batches.retrieve(created.id)).status, { timeout: 90_000, interval: 250 }).toBe('completed');
    const batch = await survivor.batches.retrieve(created.id);
    expect(batch.request_counts).toEqual({ total: LINES, completed: input.valid, failed: LINES - input.valid });
    const read = async (id: string) =>
      (await (await survivor.files.content(id)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { custom_id: string | null; error: { message: string; line: number } | null });
    const output = await read(batch.output_file_id!);
    const errors = await read(batch.error_file_id!);
    // Each valid line answered exactly once, under its own custom_id.
    const answered = output.map((o) => o.custom_id!);
    expect(new Set(answered).size).toBe(answered.length);
    expect(answered.length).toBe(input.valid);
    // Each bad line in the error file once, with its real error.
    const errorLines = new Map(errors.map((e) => [e.error!.line, e.error!.message]));
    expect(errorLines.size).toBe(errors.length);
    for (const line of input.broken) expect(errorLines.get(line)).toBe(`line ${line}: not valid JSON`);
    for (const line of input.duplicates) expect(errorLines.get(line)).toBe(`line ${line}: duplicate custom_id e1`);
    // Nothing embedded twice: the GPUs saw one request per valid line.
    const embedded = stack.gpus.reduce((n, g) => n + (g.stats.snapshot().requests['/api/embed nomic-embed-text'] ?? 0), 0);
    expect(embedded).toBe(input.valid);
  }, 150_000);
});

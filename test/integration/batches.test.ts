import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedText, replyText } from '@mana/emulators';
import { ManaError, serializeError } from '@mana/errors';
import { JobRecords } from '@mana/jobs';
import { type Stack, startStack } from '@mana/testing';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ gpus: 1, maxConcurrent: 2 });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => stack?.close());

const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

async function runBatch(content: string, endpoint: '/v1/chat/completions' | '/v1/embeddings') {
  const file = await client.files.create({ file: await toFile(Buffer.from(content), 'input.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
  await expect.poll(async () => (await client.batches.retrieve(batch.id)).status, { timeout: 20_000 }).toBe('completed');
  const done = await client.batches.retrieve(batch.id);
  const read = async (id: string | null | undefined) =>
    id
      ? (await (await client.files.content(id)).text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, any>)
      : [];
  return { batch: done, output: await read(done.output_file_id), errors: await read(done.error_file_id) };
}

describe('the OpenAI Batch API, through the official client', () => {
  it('runs a chat batch: files.create → batches.create → poll → files.content, keyed by custom_id', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({
      custom_id: `q${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'mana/fast-text', messages: [{ role: 'user', content: `question ${i}` }] },
    }));
    const { batch, output, errors } = await runBatch(jsonl(rows), '/v1/chat/completions');
    expect(batch.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
    expect(errors).toEqual([]);
    const byId = new Map(output.map((line) => [line.custom_id as string, line]));
    // Items keep no event stream (their answers are in the output file): the events route says so.
    const itemId = output[0]?.response.request_id as string;
    const events = await fetch(`${stack.baseURL}/jobs/${itemId}/events`);
    expect(events.status).toBe(400);
    expect(((await events.json()) as { error: { message: string } }).error.message).toContain("read its result from the batch's output file");
    for (let i = 0; i < 12; i++) {
      const line = byId.get(`q${i}`);
      expect(line?.response.status_code).toBe(200);
      expect(line?.response.body.choices[0].message.content).toBe(replyText({ model: 'gemma3:4b', lastUserText: `question ${i}`, images: 0, promptWords: 0, json: false }));
    }
  });

  it('runs an embedding batch, every vector from the one model the alias starts with', async () => {
    const rows = ['alpha', 'beta', 'gamma'].map((text) => ({ custom_id: text, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: text } }));
    const { batch, output } = await runBatch(jsonl(rows), '/v1/embeddings');
    expect(batch.request_counts?.completed).toBe(3);
    for (const line of output) {
      expect(line.response.body.model).toBe('ollama/nomic-embed-text');
      expect(line.response.body.data[0].embedding[0]).toBeCloseTo(embedText('nomic-embed-text', line.custom_id as string, 768)[0] as number, 6);
    }
  });

  it('sends malformed lines, wrong endpoints and duplicate custom_ids to the error file with their line numbers; the rest runs', async () => {
    const good = (id: string) => ({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: id }] } });
    const content = jsonl([
      good('a'),
      '{not json',
      { custom_id: 'b', method: 'POST', url: '/v1/embeddings', body: { input: 'x' } },
      good('a'),
      { custom_id: 'c', method: 'POST', url: '/v1/chat/completions', body: { model: 'mana/nope', messages: [{ role: 'user', content: 'x' }] } },
      { custom_id: 'd', method: 'POST', url: '/v1/chat/completions', body: { messages: 'hi' } },
      good('e'),
    ]);
    const { batch, output, errors } = await runBatch(content, '/v1/chat/completions');
    expect(batch.request_counts).toEqual({ total: 7, completed: 2, failed: 5 });
    expect(output.map((l) => l.custom_id).sort()).toEqual(['a', 'e']);
    const messages = errors.map((l) => l.error?.message ?? '');
    expect(messages).toEqual(
      expect.arrayContaining([
        'line 2: not valid JSON',
        expect.stringContaining('line 3: url must be /v1/chat/completions'),
        'line 4: duplicate custom_id a',
        expect.stringContaining('line 5: model "mana/nope" is not a known alias'),
        expect.stringContaining('line 6: body.messages'),
      ]),
    );
  });

  it('lists batches and refuses a bad endpoint or an unknown input file', async () => {
    const list = await client.batches.list();
    expect(list.data.length).toBeGreaterThanOrEqual(3);
    await expect(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const file = await client.files.create({ file: await toFile(Buffer.from('{}\n'), 'x.jsonl'), purpose: 'batch' });
    await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/completions' as '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });
});

describe('embedding batches stay on one model', () => {
  it('does not fall back to another model when the GPU fails an item but tries the GPU again; with mana_mixed_models it may, and each line names its model', async () => {
    const rows = ['x', 'y'].map((text) => ({ custom_id: text, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: text } }));
    const upload = async () => client.files.create({ file: await toFile(Buffer.from(jsonl(rows)), 'e.jsonl'), purpose: 'batch' });

    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, route: '/api/embed', times: 2 });
    const pinned = await client.batches.create({ input_file_id: (await upload()).id, endpoint: '/v1/embeddings', completion_window: '24h' });
    await expect.poll(async () => (await client.batches.retrieve(pinned.id)).status, { timeout: 20_000 }).toBe('completed');
    const pinnedDone = await client.batches.retrieve(pinned.id);
    expect(pinnedDone.request_counts).toMatchObject({ completed: 2, failed: 0 });
    const pinnedModels = (await (await client.files.content(pinnedDone.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { response: { body: { model: string } } }).response.body.model);
    expect(pinnedModels).toEqual(['ollama/nomic-embed-text', 'ollama/nomic-embed-text']);
    expect(stack.gemini.stats.snapshot().requests['/v1beta/models/text-embedding-004:batchEmbedContents text-embedding-004']).toBeUndefined();
    const retried = (await stack.jobs()).filter((j) => j.batch?.id === pinned.id && j.hops[0]?.retries);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((j) => j.hops.length === 1 && j.status === 'succeeded')).toBe(true);

    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, route: '/api/embed', times: 1 });
    const mixed = await client.batches.create({
      input_file_id: (await upload()).id,
      endpoint: '/v1/embeddings',
      completion_window: '24h',
      metadata: { mana_mixed_models: 'true' },
    });
    await expect.poll(async () => (await client.batches.retrieve(mixed.id)).status, { timeout: 20_000 }).toBe('completed');
    const done = await client.batches.retrieve(mixed.id);
    expect(done.request_counts).toMatchObject({ completed: 2, failed: 0 });
    const models = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { response: { body: { model: string } } }).response.body.model);
    // The failed item moved to Gemini (the GPU, marked down by its failure, may be skipped for the other too).
    expect(models).toContain('google/text-embedding-004');
    for (const model of models) expect(['google/text-embedding-004', 'ollama/nomic-embed-text']).toContain(model);
  });
});

describe('completion windows', () => {
  it('keeps a batch on the GPU while it can finish in time, and spills only the items it cannot finish within a short window', async () => {
    // Three worker processes, as with one per host: each runs the batch pass, and still only the excess moves.
    const slow = await startStack({ gpus: 1, maxConcurrent: 1, workers: 3, ollama: { perTokenMs: 30 } });
    try {
      const local = new OpenAI({ baseURL: slow.baseURL, apiKey: 'unused', maxRetries: 0 });
      const run = async (count: number, window: string) => {
        const rows = Array.from({ length: count }, (_, i) => ({
          custom_id: `w${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { messages: [{ role: 'user', content: `item ${i}` }] },
        }));
        const file = await local.files.create({ file: await toFile(Buffer.from(jsonl(rows)), 'in.jsonl'), purpose: 'batch' });
        const batch = await local.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: window as '24h' });
        await expect.poll(async () => (await local.batches.retrieve(batch.id)).status, { timeout: 30_000 }).toBe('completed');
        const done = await local.batches.retrieve(batch.id);
        expect(done.request_counts).toEqual({ total: count, completed: count, failed: 0 });
        const lines = (await (await local.files.content(done.output_file_id!)).text()).trim().split('\n');
        return lines.map((l) => (JSON.parse(l) as { response: { body: { model: string } } }).response.body.model);
      };
      // 8 items × ~150 ms fit in 24 hours: all on the GPU.
      expect(new Set(await run(8, '24h'))).toEqual(new Set(['ollama/gemma3:4b']));
      // 40 items × ~150 ms do not fit in 3 s on one slot: some spill, the rest stay local.
      const models = await run(40, '3s');
      const spilled = models.filter((m) => m === 'google/gemini-2.0-flash').length;
      expect(spilled).toBeGreaterThan(0);
      // About 18 fit in the window on one slot; passes racing across the three workers would move nearly all of them.
      expect(models.filter((m) => m === 'ollama/gemma3:4b').length).toBeGreaterThanOrEqual(10);
      const moved = (await slow.jobs()).filter((j) => j.hops.length > 1);
      expect(moved).toHaveLength(spilled);
      expect(moved[0]?.hops[0]?.error?.message).toContain('completion window');
    } finally {
      await slow.close();
    }
  });

  it('refuses a completion_window it cannot parse, naming the field', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl([{ custom_id: 'x', method: 'POST', url: '/v1/embeddings', body: { input: 'x' } }])), 'w.jsonl'),
      purpose: 'batch',
    });
    const refused = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '2 weeks' as '24h' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('completion_window');
  });
});

describe('a pinned embedding batch whose GPU keeps failing', () => {
  it('fails its items once the completion window has closed, saying so, and never asks another model', async () => {
    const rows = ['p', 'q'].map((text) => ({ custom_id: text, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: text } }));
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, route: '/api/embed', times: 1_000 });
    const geminiBefore = stack.gemini.stats.snapshot().total;
    try {
      const file = await client.files.create({ file: await toFile(Buffer.from(jsonl(rows)), 'p.jsonl'), purpose: 'batch' });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '3s' as '24h' });
      await expect.poll(async () => (await client.batches.retrieve(batch.id)).status, { timeout: 20_000 }).toBe('completed');
      const done = await client.batches.retrieve(batch.id);
      expect(done.request_counts).toMatchObject({ completed: 0, failed: 2 });
      const errors = (await (await client.files.content(done.error_file_id!)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { response: { body: { error: { message: string } } } });
      for (const line of errors) expect(line.response.body.error.message).toMatch(/still failed when its batch's completion window closed \(\d+ tries/);
      expect(stack.gemini.stats.snapshot().total).toBe(geminiBefore);
    } finally {
      stack.gpus[0]!.faults.clear();
    }
  });
});

describe('a process dying between finishing a batch item and writing it out', () => {
  it('is made good by the reconciliation pass: the item is written once and the batch completes', async () => {
    const own = await startStack({ gpus: 1, env: { MANA_BATCH_RECONCILE_MS: '300' } });
    try {
      const local = new OpenAI({ baseURL: own.baseURL, apiKey: 'unused', maxRetries: 0 });
      // Both items take a second on the GPU, so the dying process can finish one meanwhile.
      own.gpus[0]!.faults.add({ mode: 'slow', delayMs: 1_000, route: '/api/embed', times: 2 });
      const rows = ['r1', 'r2'].map((id) => ({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: id } }));
      const file = await local.files.create({ file: await toFile(Buffer.from(jsonl(rows)), 'r.jsonl'), purpose: 'batch' });
      const batch = await local.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
      await expect.poll(async () => (await local.batches.retrieve(batch.id)).status).toBe('in_progress');
      await expect.poll(() => own.gpus[0]!.stats.snapshot().inFlight).toBe(2);
      // The dying process: it finishes an item (its record) but never reaches the batch's accounting.
      const [victim] = (await own.jobs()).filter((j) => j.batch?.id === batch.id);
      const hookless = new JobRecords(own.pipeline.redis, own.keys, 60);
      expect(await hookless.fail(victim!.id, -1, serializeError(new ManaError('provider_unavailable', 'finished by a process that then died')))).toBe(true);
      await expect.poll(async () => (await local.batches.retrieve(batch.id)).status, { timeout: 10_000 }).toBe('completed');
      const done = await local.batches.retrieve(batch.id);
      expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
      const errors = (await (await local.files.content(done.error_file_id!)).text()).trim().split('\n');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('finished by a process that then died');
    } finally {
      await own.close();
    }
  });
});

describe('an API process dying while it reads a batch file', () => {
  it('leaves no batch stuck validating: another API process reads it from where the dead reader stopped', async () => {
    const own = await startStack({ gpus: 1, env: { MANA_BATCH_READER_QUIET_MS: '300' } });
    try {
      const local = new OpenAI({ baseURL: own.baseURL, apiKey: 'unused', maxRetries: 0 });
      const file = await local.files.create({
        file: await toFile(Buffer.from(jsonl([{ custom_id: 'z', method: 'POST', url: '/v1/embeddings', body: { input: 'z' } }])), 'z.jsonl'),
        purpose: 'batch',
      });
      // What a process leaves behind when it dies right after creating a batch, before reading a line.
      const id = 'batch_0123456789abcdef0123456789abcdef';
      const common = { tenant: 'default', createdAt: Date.now(), purpose: 'batch_output' };
      await own.pipeline.files.createEmpty({ ...common, id: `file-${id}-output`, filename: 'o.jsonl' });
      await own.pipeline.files.createEmpty({ ...common, id: `file-${id}-errors`, filename: 'e.jsonl' });
      await own.pipeline.batches.create({
        id,
        tenant: 'default',
        endpoint: '/v1/embeddings',
        inputFileId: file.id,
        completionWindow: '24h',
        createdAt: Date.now(),
        outputFileId: `file-${id}-output`,
        errorFileId: `file-${id}-errors`,
        metadata: {},
      });
      expect((await local.batches.retrieve(id)).status).toBe('validating');
      await expect.poll(async () => (await local.batches.retrieve(id)).status, { timeout: 10_000 }).toBe('completed');
      const done = await local.batches.retrieve(id);
      expect(done.request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
      const output = JSON.parse((await (await local.files.content(done.output_file_id!)).text()).trim()) as { custom_id: string; response: { status_code: number } };
      expect(output).toMatchObject({ custom_id: 'z', response: { status_code: 200 } });
    } finally {
      await own.close();
    }
  });

  it('a reader whose input file is gone ends the batch with what it queued and an error line saying why', async () => {
    const own = await startStack({ gpus: 1, env: { MANA_BATCH_READER_QUIET_MS: '300' } });
    try {
      const local = new OpenAI({ baseURL: own.baseURL, apiKey: 'unused', maxRetries: 0 });
      const id = 'batch_fedcba9876543210fedcba9876543210';
      const common = { tenant: 'default', createdAt: Date.now(), purpose: 'batch_output' };
      await own.pipeline.files.createEmpty({ ...common, id: `file-${id}-output`, filename: 'o.jsonl' });
      await own.pipeline.files.createEmpty({ ...common, id: `file-${id}-errors`, filename: 'e.jsonl' });
      await own.pipeline.batches.create({
        id,
        tenant: 'default',
        endpoint: '/v1/embeddings',
        inputFileId: 'file-expired',
        completionWindow: '24h',
        createdAt: Date.now(),
        outputFileId: `file-${id}-output`,
        errorFileId: `file-${id}-errors`,
        metadata: {},
      });
      await expect.poll(async () => (await local.batches.retrieve(id)).status, { timeout: 10_000 }).toBe('completed');
      const errors = (await (await local.files.content((await local.batches.retrieve(id)).error_file_id!)).text()).trim();
      expect(errors).toContain('the input file file-expired is gone');
    } finally {
      await own.close();
    }
  });
});

describe('cancelling a batch', () => {
  it('cancels its waiting and running items; the batch ends cancelled with every item accounted for', async () => {
    const slow = await startStack({ gpus: 1, maxConcurrent: 1, ollama: { perTokenMs: 100 } });
    try {
      const local = new OpenAI({ baseURL: slow.baseURL, apiKey: 'unused', maxRetries: 0 });
      const rows = Array.from({ length: 8 }, (_, i) => ({
        custom_id: `c${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { messages: [{ role: 'user', content: `slow ${i} a b c d` }] },
      }));
      const file = await local.files.create({ file: await toFile(Buffer.from(jsonl(rows)), 'in.jsonl'), purpose: 'batch' });
      const batch = await local.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      await expect.poll(async () => (await local.batches.retrieve(batch.id)).status).toBe('in_progress');
      await expect.poll(() => slow.gpus[0]!.stats.snapshot().busySlots).toBe(1);
      expect((await local.batches.cancel(batch.id)).status).toMatch(/cancelling|cancelled/);
      await expect.poll(async () => (await local.batches.retrieve(batch.id)).status, { timeout: 10_000 }).toBe('cancelled');
      const done = await local.batches.retrieve(batch.id);
      expect((done.request_counts?.completed ?? 0) + (done.request_counts?.failed ?? 0)).toBe(8);
      // Only what was already running reached the GPU.
      expect(slow.gpus[0]!.stats.snapshot().requests['/api/chat gemma3:4b']).toBeLessThanOrEqual(2);
    } finally {
      await slow.close();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import { OLLAMA_BUSY, type OllamaEmulator, startOllamaEmulator } from './index.js';
import type { OllamaEmulatorOptions } from './ollama.js';

let emulator: OllamaEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: OllamaEmulatorOptions = {}): Promise<OllamaEmulator> {
  emulator = await startOllamaEmulator(options);
  return emulator;
}

const chat = (url: string, body: object) => fetch(`${url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('ollama emulator: the wire', () => {
  it('streams NDJSON when stream is absent (the server default), ending with done:true and metrics', async () => {
    const e = await start();
    const res = await chat(e.url, { model: 'gemma3:4b', messages: [{ role: 'user', content: 'hi there' }] });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ done: true, done_reason: 'stop', model: 'gemma3:4b', message: { role: 'assistant', content: '' } });
    expect(typeof last.total_duration).toBe('number');
    expect(last.eval_count).toBe(lines.length - 1);
    expect(lines.slice(0, -1).every((l) => l.done === false)).toBe(true);
  });

  it('answers the exact two-space "server busy" 503 as JSON when the queue is full', async () => {
    const e = await start({ slots: 1, maxQueue: 1, perTokenMs: 40 });
    const body = { model: 'gemma3:4b', stream: false, messages: [{ role: 'user', content: 'a b c' }] };
    const running = [chat(e.url, body), chat(e.url, body)];
    await expect.poll(() => e.gpu.queued).toBe(1);
    const res = await chat(e.url, body);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
    expect(OLLAMA_BUSY).toContain('again.  maximum');
    await Promise.all(running.map(async (r) => (await r).text()));
  });

  it('answers an unknown model with 404 model "X" not found, try pulling it first', async () => {
    const e = await start();
    const res = await chat(e.url, { model: 'nope:1b', stream: false, messages: [] });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "nope:1b" not found, try pulling it first' });
  });

  it('treats name and name:latest as the same model', async () => {
    const e = await start();
    const res = await fetch(`${e.url}/api/embed`, { method: 'POST', body: JSON.stringify({ model: 'nomic-embed-text:latest', input: 'x' }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { embeddings: number[][] }).embeddings[0]).toHaveLength(768);
  });

  it('serves the shipped aliases.yaml ollama models by default', async () => {
    const e = await start();
    const tags = (await (await fetch(`${e.url}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(tags.models.map((m) => m.name)).toEqual(expect.arrayContaining(['gemma3:4b', 'gemma3:12b', 'qwen3:8b', 'llava:7b', 'nomic-embed-text:latest']));
  });

  it('writes /api/embed vectors as Go writes []float32 (fewest digits, in field order), /api/embeddings as []float64', async () => {
    const e = await start();
    const post = (path: string, body: object) => fetch(`${e.url}${path}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.text());
    const text = await post('/api/embed', { model: 'nomic-embed-text', input: ['a', 'b'] });
    expect(text).toMatch(/^\{"model":"nomic-embed-text","embeddings":\[\[-?0\.\d+,/);
    expect(text).toMatch(/\]\],"total_duration":\d+,"load_duration":\d+,"prompt_eval_count":2\}$/);
    const numbers = text.slice(text.indexOf('[[') + 2, text.indexOf(']]')).split(/\],\[|,/);
    expect(numbers).toHaveLength(2 * 768);
    // At most nine significant digits each (a float32's most), where a widened double's take up to seventeen.
    for (const n of numbers) expect(n.replace(/^-?0\.0*|e.*$/g, '').length).toBeLessThanOrEqual(9);
    const old = JSON.parse(await post('/api/embeddings', { model: 'nomic-embed-text', prompt: 'a' })) as { embedding: number[] };
    expect(old.embedding.map(Math.fround)).toEqual(old.embedding);
    expect(Float32Array.from(old.embedding)).toEqual(Float32Array.from(JSON.parse(text).embeddings[0]));
  });

  it('writes a mid-stream error as an {"error"} line on a 200', async () => {
    const e = await start();
    e.faults.add({ mode: 'stream-error', afterChunks: 1, message: 'boom' });
    const res = await chat(e.url, { model: 'gemma3:4b', messages: [{ role: 'user', content: 'a b c' }] });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ error: 'boom' });
  });
});

describe('ollama emulator: one simulated GPU', () => {
  it('runs at most `slots` requests at once; the rest wait, without bound by default', async () => {
    const e = await start({ slots: 2, perTokenMs: 5 });
    const client = new Ollama({ host: e.url });
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => client.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: `request ${i} a b c` }] })));
    expect(results.map((r) => r.message.content)).toEqual(Array.from({ length: 7 }, (_, i) => `Echo from gemma3:4b: request ${i} a b c`));
    const stats = e.stats.snapshot();
    expect(stats.maxBusySlots).toBe(2);
    expect(stats.maxInFlight).toBe(7);
    expect(stats.inFlight).toBe(0);
    expect(stats.busySlotMs).toBeGreaterThan(0);
  });

  it('sends no response header while a cold model loads', async () => {
    const e = await start({ loadMs: 60_000 });
    const controller = new AbortController();
    let answered = false;
    const request = fetch(`${e.url}/api/chat`, {
      method: 'POST',
      signal: controller.signal,
      body: JSON.stringify({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'x' }] }),
    }).then(
      () => (answered = true),
      () => undefined,
    );
    // The request holds the slot (loading) and nothing has reached the client.
    await expect.poll(() => e.stats.snapshot().busySlots).toBe(1);
    expect(answered).toBe(false);
    controller.abort();
    await e.close();
    await request;
    expect(answered).toBe(false);
  });

  it('lists a model in /api/ps once it has been loaded', async () => {
    const e = await start({ loadMs: 20 });
    const ps = async () => ((await (await fetch(`${e.url}/api/ps`)).json()) as { models: Array<{ name: string }> }).models.map((m) => m.name);
    expect(await ps()).toEqual([]);
    await new Ollama({ host: e.url }).chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }] });
    expect(await ps()).toEqual(['qwen3:8b']);
  });
});

describe('ollama emulator: admin routes', () => {
  it('takes faults over HTTP and reports stats', async () => {
    const e = await start();
    const add = await fetch(`${e.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ mode: 'error', status: 500, times: 1 }) });
    expect(add.status).toBe(201);
    const first = await chat(e.url, { model: 'gemma3:4b', stream: false, messages: [] });
    expect(first.status).toBe(500);
    const second = await chat(e.url, { model: 'gemma3:4b', stream: false, messages: [] });
    expect(second.status).toBe(200);
    const stats = (await (await fetch(`${e.url}/_emulator/stats`)).json()) as { requests: Record<string, number>; faulted: number };
    expect(stats.requests['/api/chat gemma3:4b']).toBe(2);
    expect(stats.faulted).toBe(1);
  });

  it('rejects a malformed fault with 400 naming the field', async () => {
    const e = await start();
    const res = await fetch(`${e.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ mode: 'explode' }) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('mode');
  });

  it('goes down over HTTP (connection refused) and comes back by itself', async () => {
    const e = await start();
    await fetch(`${e.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ mode: 'down', forMs: 300 }) });
    await expect
      .poll(async () =>
        fetch(`${e.url}/api/version`).then(
          () => 'up',
          (err: Error) => (err.cause as { code?: string })?.code,
        ),
      )
      .toBe('ECONNREFUSED');
    await expect
      .poll(
        async () =>
          fetch(`${e.url}/api/version`).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 5_000 },
      )
      .toBe(200);
  });

  it('fails only the given fraction of requests, repeatably with a seed', async () => {
    const e = await start();
    e.faults.add({ mode: 'error', status: 503, fraction: 0.5, seed: 7 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await chat(e.url, { model: 'gemma3:4b', stream: false, messages: [] })).status);
    const failed = statuses.filter((s) => s === 503).length;
    expect(failed).toBeGreaterThan(8);
    expect(failed).toBeLessThan(32);
  });
});

describe('ollama emulator: models in memory', () => {
  const ask = (e: OllamaEmulator, model: string) => new Ollama({ host: e.url }).chat({ model, stream: false, messages: [{ role: 'user', content: 'hi' }] });

  it('loads a cold model once, reports load_duration, and lists it in /api/ps', async () => {
    const e = await start({ loadMs: 120 });
    const client = new Ollama({ host: e.url });
    expect((await client.ps()).models).toEqual([]);
    const [first, second] = await Promise.all([ask(e, 'gemma3:4b'), ask(e, 'gemma3:4b')]);
    expect(Math.max(first.load_duration, second.load_duration) / 1e6).toBeGreaterThanOrEqual(100);
    expect(e.loads).toEqual({ 'gemma3:4b': 1 });
    expect((await ask(e, 'gemma3:4b')).load_duration).toBe(0);
    expect((await client.ps()).models.map((m) => m.name)).toEqual(['gemma3:4b']);
  });

  it('with room for one model, loading another evicts the least recently used, and each swap is a load', async () => {
    const e = await start({ loadMs: 20, maxLoaded: 1 });
    await ask(e, 'gemma3:4b');
    await ask(e, 'qwen3:8b');
    expect((await new Ollama({ host: e.url }).ps()).models.map((m) => m.name)).toEqual(['qwen3:8b']);
    await ask(e, 'gemma3:4b');
    expect(e.loads).toEqual({ 'gemma3:4b': 2, 'qwen3:8b': 1 });
    const stats = (await (await fetch(`${e.url}/_emulator/stats`)).json()) as { loads: Record<string, number>; loaded: string[] };
    expect(stats).toMatchObject({ loads: { 'gemma3:4b': 2, 'qwen3:8b': 1 }, loaded: ['gemma3:4b'] });
  });

  it('waits for a busy model to finish before evicting it', async () => {
    const e = await start({ slots: 2, loadMs: 10, maxLoaded: 1, modelTimings: { 'gemma3:4b': { perTokenMs: 30 } } });
    await ask(e, 'gemma3:4b');
    let longDone = false;
    const long = ask(e, 'gemma3:4b').then(() => (longDone = true));
    await expect.poll(() => e.stats.snapshot().busySlots).toBe(1);
    const other = await ask(e, 'qwen3:8b');
    // The swap could only happen once gemma3:4b was idle: its request had finished by then.
    expect(longDone).toBe(true);
    await long;
    expect(other.load_duration).toBeGreaterThan(0);
  });

  it('serves each model at its own pace', async () => {
    const e = await start({ modelTimings: { 'qwen3:8b': { timeToFirstTokenMs: 150 } } });
    const t0 = performance.now();
    await ask(e, 'gemma3:4b');
    const fast = performance.now() - t0;
    const t1 = performance.now();
    await ask(e, 'qwen3:8b');
    expect(performance.now() - t1).toBeGreaterThanOrEqual(140);
    expect(fast).toBeLessThan(140);
  });
});

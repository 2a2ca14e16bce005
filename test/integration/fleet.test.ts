import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

/**
 * A fleet of unlike GPU servers, as an operator runs one: each server has
 * its own models and capacity, models load into memory with a delay and
 * evict each other, and some servers run an OpenAI-compatible engine.
 */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const client = (s: Stack) => new OpenAI({ baseURL: s.baseURL, apiKey: 'unused', maxRetries: 0 });

/** Requests each server received, by `route model`. */
const requestsOf = (s: Stack, i: number) => s.gpus[i]!.stats.snapshot().requests;

/** Waits until every server of the stack has told the fleet what it has (one probe round). */
async function fleetKnown(s: Stack): Promise<void> {
  await expect.poll(async () => Object.values((await s.status()).gpus).every((g) => (g as { models?: unknown }).models !== null), { timeout: 5_000 }).toBe(true);
}

describe('a fleet of GPU servers with different models', () => {
  it('sends each request only to a server that has its model: none reaches a server without it, none goes to the cloud', async () => {
    stack = await startStack({
      fleet: [
        { name: 'gpuA', models: ['gemma3:4b', 'nomic-embed-text'], slots: 2, ollama: { perTokenMs: 2 } },
        { name: 'gpuB', models: ['qwen3:8b', 'llava:7b'], slots: 2, ollama: { perTokenMs: 2 } },
      ],
    });
    await fleetKnown(stack);
    const openai = client(stack);
    const chat = (model: string, i: number) =>
      openai.chat.completions
        .create({ model, messages: [{ role: 'user', content: `light traffic ${i}` }] })
        .withResponse()
        .then((r) => r.response.headers.get('x-mana-provider'));
    const embed = (i: number) =>
      openai.embeddings
        .create({ model: 'mana/embed', input: `text ${i}` })
        .withResponse()
        .then((r) => r.response.headers.get('x-mana-provider'));
    const providers: Array<string | null> = [];
    // Light traffic in waves, well under the fleet's capacity.
    for (let wave = 0; wave < 4; wave++) {
      providers.push(...(await Promise.all([chat('mana/fast-text', wave), chat('mana/structured', wave), chat('mana/vision', wave), embed(wave)])));
    }
    expect(providers).toEqual(Array(16).fill('ollama'));
    expect(stack.gemini.stats.snapshot().total).toBe(0);
    const [a, b] = [requestsOf(stack, 0), requestsOf(stack, 1)];
    expect(
      Object.keys(a).filter((k) => k.startsWith('/api/') && !k.includes('gemma3:4b') && !k.includes('nomic-embed-text') && !['/api/version', '/api/ps', '/api/tags'].includes(k)),
    ).toEqual([]);
    expect(
      Object.keys(b).filter((k) => k.startsWith('/api/') && !k.includes('qwen3:8b') && !k.includes('llava:7b') && !['/api/version', '/api/ps', '/api/tags'].includes(k)),
    ).toEqual([]);
    expect(a['/api/chat gemma3:4b']).toBe(4);
    expect(a['/api/embed nomic-embed-text']).toBe(4);
    expect(b['/api/chat qwen3:8b']).toBe(4);
    expect(b['/api/chat llava:7b']).toBe(4);
  });

  it('moves a job whose model no server has to its next target at once, and says so in /status and /metrics', async () => {
    stack = await startStack({ fleet: [{ name: 'gpuA', models: ['gemma3:4b'], slots: 2 }] });
    await fleetKnown(stack);
    const res = await client(stack)
      .chat.completions.create({ model: 'mana/structured', messages: [{ role: 'user', content: 'needs qwen' }] })
      .withResponse();
    expect(res.response.headers.get('x-mana-provider')).toBe('google');
    const [job] = await stack.jobs();
    expect(job?.hops.map((h) => [h.target, h.status])).toEqual([
      ['ollama/qwen3:8b', 'skipped'],
      ['google/gemini-2.0-flash', 'succeeded'],
    ]);
    expect(job?.hops[0]?.error?.message).toContain('no GPU has qwen3:8b');
    expect(requestsOf(stack, 0)['/api/chat qwen3:8b']).toBeUndefined();
    const status = (await stack.status()) as unknown as { fleet: { missingTargets: Array<{ alias: string; target: string }>; models: string[] } };
    expect(status.fleet.missingTargets).toEqual(
      expect.arrayContaining([
        { alias: 'mana/structured', target: 'ollama/qwen3:8b' },
        { alias: 'mana/embed', target: 'ollama/nomic-embed-text' },
      ]),
    );
    expect(status.fleet.models).toEqual(['gemma3:4b']);
    const metrics = await (await fetch(`${stack.api.url}/metrics`)).text();
    expect(metrics).toContain('mana_alias_target_missing{alias="mana/structured",target="ollama/qwen3:8b"} 1');
  });

  it('fails an embedding batch pinned to a model no server has at once, saying so, without asking another model', async () => {
    stack = await startStack({ fleet: [{ name: 'gpuA', models: ['gemma3:4b'], slots: 2 }] });
    await fleetKnown(stack);
    const openai = client(stack);
    const line = JSON.stringify({ custom_id: 'e1', method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: 'vector please' } });
    const file = await openai.files.create({ file: await toFile(Buffer.from(`${line}\n`), 'in.jsonl'), purpose: 'batch' });
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    await expect.poll(async () => (await openai.batches.retrieve(batch.id)).status, { timeout: 10_000 }).toBe('completed');
    const done = await openai.batches.retrieve(batch.id);
    expect(done.request_counts).toEqual({ total: 1, completed: 0, failed: 1 });
    const errors = await (await openai.files.content(done.error_file_id!)).text();
    expect(errors).toContain('no GPU has nomic-embed-text');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
  });

  it('answers a bare model name no server has and aliases.yaml does not describe with 404 model_not_found, calling no provider', async () => {
    stack = await startStack({ fleet: [{ name: 'gpuA', models: ['gemma3:4b'], slots: 2 }] });
    await fleetKnown(stack);
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('model_not_found');
    expect(body.error.message).toContain('"gpt-4o"');
    expect(body.error.message).toContain('mana/fast-text');
    expect(body.error.message).toContain('GPU models: gemma3:4b');
    expect(stack.gemini.stats.snapshot().total).toBe(0);
    expect(Object.keys(requestsOf(stack, 0)).filter((k) => k.startsWith('/api/chat'))).toEqual([]);
    expect(await stack.jobs()).toEqual([]);
    // A bare name some server has is served; so is a described target named explicitly.
    const bare = await client(stack)
      .chat.completions.create({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'bare' }] })
      .withResponse();
    expect(bare.response.headers.get('x-mana-provider')).toBe('ollama');
  });

  it('holds each server to its own capacity: 2 slots on one, 5 on the other, exactly', async () => {
    stack = await startStack({
      fleet: [
        { name: 'small', models: ['gemma3:4b'], slots: 2, ollama: { perTokenMs: 15 } },
        { name: 'large', models: ['gemma3:4b'], slots: 5, ollama: { perTokenMs: 15 } },
      ],
    });
    await fleetKnown(stack);
    const openai = client(stack);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        openai.chat.completions
          .create({ model: 'mana/fast-text', messages: [{ role: 'user', content: `burst ${i} a b c d e` }] }, { headers: { 'x-mana-priority': 'batch' } })
          .withResponse(),
      ),
    );
    expect(answers.every((a) => a.response.headers.get('x-mana-provider') === 'ollama')).toBe(true);
    expect(stack.gpus[0]!.stats.snapshot().maxInFlight).toBe(2);
    expect(stack.gpus[1]!.stats.snapshot().maxInFlight).toBe(5);
  });
});

describe('model affinity', () => {
  it('two servers with room for one model each, traffic alternating between two models: at most one load per model per server beyond the first', async () => {
    const server = (name: string) => ({ name, models: ['gemma3:4b', 'qwen3:8b'], slots: 2, ollama: { perTokenMs: 5, loadMs: 400, maxLoaded: 1 } });
    stack = await startStack({ fleet: [server('gpu0'), server('gpu1')] });
    await fleetKnown(stack);
    const openai = client(stack);
    for (let wave = 0; wave < 3; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          openai.chat.completions
            .create(
              { model: i % 2 === 0 ? 'gemma3:4b' : 'qwen3:8b', messages: [{ role: 'user', content: `alternating ${wave} ${i}` }] },
              { headers: { 'x-mana-priority': 'async', 'x-mana-max-wait-ms': '60000' } },
            )
            .withResponse(),
        ),
      );
      expect(answers.every((a) => a.response.headers.get('x-mana-provider') === 'ollama')).toBe(true);
    }
    const loads = stack.gpus.map((g) => g.loads);
    for (const perGpu of loads) for (const n of Object.values(perGpu)) expect(n).toBeLessThanOrEqual(2);
    // Each model was loaded somewhere; in all, far fewer loads than the 48 requests.
    const total = loads.reduce((sum, l) => sum + Object.values(l).reduce((a, b) => a + b, 0), 0);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(total).toBeLessThanOrEqual(4);
  });
});

describe('an OpenAI-compatible local engine (vLLM-style) in the fleet', () => {
  it('is capped at its slots and spills like an Ollama server when its backlog exceeds the tolerance', async () => {
    stack = await startStack({
      fleet: [{ name: 'vllm0', engine: 'openai', models: ['gemma3:4b'], slots: 2, modelTimings: { 'gemma3:4b': { perTokenMs: 40 } } }],
    });
    await fleetKnown(stack);
    const openai = client(stack);
    // Batch work waits for the engine however long: capped at 2 at once.
    const batch = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        openai.chat.completions
          .create({ model: 'mana/fast-text', messages: [{ role: 'user', content: `engine ${i} a b c` }] }, { headers: { 'x-mana-priority': 'batch' } })
          .withResponse(),
      ),
    );
    expect(batch.every((a) => a.response.headers.get('x-mana-provider') === 'ollama')).toBe(true);
    expect(stack.engines[0]!.stats.snapshot().maxInFlight).toBe(2);
    // With the engine busy, an impatient interactive request spills to the next target.
    const running = Array.from({ length: 6 }, (_, i) =>
      openai.chat.completions.create(
        { model: 'mana/fast-text', messages: [{ role: 'user', content: `keep busy ${i} a b c d e f g h` }] },
        { headers: { 'x-mana-priority': 'batch' } },
      ),
    );
    await expect.poll(() => stack!.engines[0]!.stats.snapshot().busySlots).toBe(2);
    const impatient = await openai.chat.completions
      .create({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'now please' }] }, { headers: { 'x-mana-max-wait-ms': '100' } })
      .withResponse();
    expect(impatient.response.headers.get('x-mana-provider')).toBe('google');
    await Promise.all(running);
    expect(stack.engines[0]!.stats.snapshot().maxInFlight).toBe(2);
  });
});

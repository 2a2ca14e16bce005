import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { embedText, replyText } from '@mana/emulators';
import { type Stack, startStack } from '@mana/testing';

/** Ollama's own API on Mana's port, through the real `ollama` JS client: every call, on a GPU, on Gemini and across a fallback. */
let stack: Stack;
let ollama: Ollama;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex').toString('base64');

beforeAll(async () => {
  stack = await startStack({ ollama: { perTokenMs: 2 } });
  ollama = new Ollama({ host: stack.api.url });
});
afterAll(() => stack?.close());
beforeEach(async () => {
  stack.gpus[0]!.faults.clear();
  await expect.poll(async () => (await stack.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(true);
});

const fresh = (model: string, text: string, images = 0) => replyText({ model, lastUserText: text, images, promptWords: 0, json: false });

describe('chat and generate', () => {
  it('chat, whole (stream: false), by Ollama model name and by alias', async () => {
    for (const model of ['gemma3:4b', 'mana/fast-text']) {
      const answer = await ollama.chat({ model, messages: [{ role: 'user', content: 'hello ollama' }], stream: false });
      expect(answer.message).toMatchObject({ role: 'assistant', content: fresh('gemma3:4b', 'hello ollama') });
      expect(answer).toMatchObject({ model: 'gemma3:4b', done: true, done_reason: 'stop' });
      expect(answer.eval_count).toBeGreaterThan(0);
    }
  });

  it('chat, streamed (Ollama’s default): NDJSON pieces, then done with its counters', async () => {
    const parts = [];
    for await (const part of await ollama.chat({ model: 'gemma3:4b', messages: [{ role: 'user', content: 'stream please now' }], stream: true })) parts.push(part);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.map((p) => p.message.content).join('')).toBe(fresh('gemma3:4b', 'stream please now'));
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
  });

  it('a fallback to Gemini answers in Ollama’s shape, naming the model that answered', async () => {
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 1 });
    const answer = await ollama.chat({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'gpu is down' }], stream: false });
    expect(answer.model).toBe('google/gemini-2.0-flash');
    expect(answer.message.content).toBe(fresh('gemini-2.0-flash', 'gpu is down'));
  });

  it('images (base64, as Ollama takes them), format as a JSON schema, and tools', async () => {
    const seen = await ollama.chat({ model: 'mana/vision', messages: [{ role: 'user', content: 'what is it', images: [PNG] }], stream: false });
    expect(seen.message.content).toContain('[saw 1 image]');
    const json = await ollama.chat({
      model: 'qwen3:8b',
      messages: [{ role: 'user', content: 'as json' }],
      format: { type: 'object', properties: { echo: { type: 'string' } } },
      stream: false,
    });
    expect(JSON.parse(json.message.content)).toMatchObject({ echo: 'as json' });
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
    ];
    const called = await ollama.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'get_weather in Bern' }], tools, stream: false });
    expect(called.message.tool_calls).toEqual([{ function: { name: 'get_weather', arguments: { city: 'get_weather in Bern' } } }]);
    const answered = await ollama.chat({
      model: 'qwen3:8b',
      messages: [{ role: 'user', content: 'get_weather in Bern' }, called.message, { role: 'tool', content: 'snow', tool_name: 'get_weather' }],
      tools,
      stream: false,
    });
    expect(answered.message.content).toContain('[tool said: snow]');
  });

  it('generate: a prompt (with system), streamed and whole; raw continues the text as written', async () => {
    const whole = await ollama.generate({ model: 'gemma3:4b', prompt: 'why is the sky blue', system: 'be short', stream: false });
    expect(whole).toMatchObject({ model: 'gemma3:4b', response: fresh('gemma3:4b', 'why is the sky blue'), done: true });
    let text = '';
    for await (const part of await ollama.generate({ model: 'gemma3:4b', prompt: 'generate streamed', stream: true })) text += part.response;
    expect(text).toBe(fresh('gemma3:4b', 'generate streamed'));
    await ollama.generate({ model: 'gemma3:4b', prompt: 'once upon', raw: true, stream: false });
    const sent = stack.gpus[0]!.stats.snapshot()
      .recent.filter((r) => r.path === '/api/generate')
      .at(-1)?.body;
    expect(sent).toMatchObject({ prompt: 'once upon', raw: true });
  });

  it('a request with no messages (a client preloading the model) answers done_reason "load" at once', async () => {
    expect(await ollama.chat({ model: 'gemma3:4b', messages: [], stream: false })).toMatchObject({ done: true, done_reason: 'load' });
  });
});

describe('embeddings', () => {
  it('embed (many inputs) and the legacy embeddings, the same vectors as the GPU’s', async () => {
    const embedded = await ollama.embed({ model: 'mana/embed', input: ['alpha', 'beta'] });
    expect(embedded.embeddings).toHaveLength(2);
    // Every number reads back as the GPU's float32, as Ollama's own answer does.
    expect(Float32Array.from(embedded.embeddings[0]!)).toEqual(Float32Array.from(embedText('nomic-embed-text', 'alpha', 768)));
    expect(embedded.prompt_eval_count).toBeGreaterThan(0);
    const legacy = await ollama.embeddings({ model: 'nomic-embed-text', prompt: 'beta' });
    expect(legacy.embedding).toHaveLength(768);
    expect(Float32Array.from(legacy.embedding)).toEqual(Float32Array.from(embedded.embeddings[1]!));
  });
});

describe('the server’s own routes', () => {
  it('tags lists the fleet’s models and the aliases; ps what is loaded; show a model; version; / says Ollama is running', async () => {
    const tags = await ollama.list();
    const names = tags.models.map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['gemma3:4b', 'nomic-embed-text:latest', 'mana/fast-text', 'mana/embed']));
    await expect.poll(async () => (await ollama.ps()).models.map((m) => m.name)).toEqual(expect.arrayContaining(['gemma3:4b']));
    const shown = await ollama.show({ model: 'mana/fast-text' });
    expect(shown.modelfile).toContain('ollama/gemma3:4b → google/gemini-2.0-flash');
    expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await (await fetch(`${stack.api.url}/`)).text()).toBe('Ollama is running');
  });

  it('errors come in Ollama’s shape, so the client prints them: an unknown model, model management', async () => {
    const missing = await ollama.chat({ model: 'no-such-model:1b', messages: [{ role: 'user', content: 'x' }], stream: false }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'ResponseError', status_code: 404 });
    expect((missing as Error).message).toContain('no-such-model:1b');
    const pull = await ollama.pull({ model: 'gemma3:4b' }).catch((e: unknown) => e);
    expect((pull as Error).message).toContain('on each GPU server');
    const bad = await ollama.chat({ model: '', messages: [] }).catch((e: unknown) => e);
    expect((bad as Error).message).toContain('model');
  });
});

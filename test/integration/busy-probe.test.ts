import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '@mana/testing';

/**
 * A GPU server whose health probe times out while it answers real work is
 * busy, not down: it keeps its jobs. One that answers no work and times out
 * its probe is still marked down. The emulator's probe routes hang (a fault
 * on /api/version), its chat keeps answering; probes run every 250 ms, so
 * each times out after 250 ms.
 */
describe('a GPU whose probe times out', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('stays up while it answers requests, and every request is served by it', async () => {
    stack = await startStack({ gpus: 1 });
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'none', maxRetries: 0 });
    const ask = async () => (await client.chat.completions.create({ model: 'ollama/gemma3:4b', messages: [{ role: 'user', content: 'hi' }] }).withResponse()).response;
    expect((await ask()).headers.get('x-mana-provider')).toBe('ollama');
    stack.gpus[0]!.faults.add({ mode: 'hang', route: '/api/version' });
    const providers = new Set<string | null>();
    const healthSeen = new Set<boolean | null>();
    const until = Date.now() + 2_000; // eight probe intervals, each probe timing out
    while (Date.now() < until) {
      providers.add((await ask()).headers.get('x-mana-provider'));
      healthSeen.add((await stack.status()).gpus.gpu0?.ok ?? null);
    }
    expect([...providers]).toEqual(['ollama']);
    expect([...healthSeen]).toEqual([true]);
    expect((await stack.status()).gpus.gpu0?.detail).toMatch(/^busy: .*did not answer within 250 ms/);
  });

  it('is marked down when it answers no work meanwhile', async () => {
    stack = await startStack({ gpus: 1 });
    stack.gpus[0]!.faults.add({ mode: 'hang', route: '/api/version' });
    await expect.poll(async () => (await stack!.status()).gpus.gpu0?.ok, { timeout: 5_000 }).toBe(false);
    expect((await stack.status()).gpus.gpu0?.detail).toMatch(/did not answer within 250 ms/);
  });
});

import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { type LocalRedisCluster, startLocalCluster } from '@mana/local-redis';
import { type Stack, onRedisCluster, scanPrefix, startStack } from '@mana/testing';
import { createRedis } from '@mana/jobs';

// Scale-out is only real if the load spreads: this runs a mixed workload on a
// 3-master Redis Cluster (the run's own when `npm run test:cluster`, else one
// started here) and looks at where its keys landed.
let cluster: LocalRedisCluster | undefined;
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  if (!onRedisCluster()) cluster = await startLocalCluster(3);
  stack = await startStack({ gpus: 1, maxConcurrent: 2, ...(cluster ? { redisClusterNodes: cluster.nodes } : {}) });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: 'unused', maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  cluster?.stop();
});

describe('Mana on a 3-master Redis Cluster', () => {
  it('spreads job records over every master, puts queues on different masters, and never sends a cross-slot command', async () => {
    expect(stack.config.redis.target.kind).toBe('cluster');
    // Interactive chats on the GPU, a failover to Gemini, async jobs, and a small batch.
    stack.gpus[0]!.faults.add({ mode: 'error', status: 500, times: 2 });
    const chats = Array.from({ length: 24 }, (_, i) => client.chat.completions.create({ model: 'mana/fast-text', messages: [{ role: 'user', content: `spread ${i}` }] }));
    const answers = await Promise.all(chats);
    expect(answers.every((a) => a.choices[0]?.message.content?.includes(`spread`))).toBe(true);
    const rows = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ custom_id: `b${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'mana/embed', input: `item ${i}` } }),
    );
    const file = await client.files.create({ file: await toFile(Buffer.from(rows.join('\n')), 'in.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    await expect.poll(async () => (await client.batches.retrieve(batch.id)).status, { timeout: 20_000 }).toBe('completed');
    expect((await client.batches.retrieve(batch.id)).request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
    const providers = new Set((await stack.jobs()).flatMap((job) => job.hops.map((hop) => hop.target.split('/')[0])));
    expect([...providers].sort()).toEqual(['google', 'ollama']);

    const redis = createRedis(stack.config.redis.target, { name: 'mana-test-spread' });
    try {
      expect(redis).toBeInstanceOf(Cluster);
      const recordsPerMaster = [0, 0, 0];
      const keysPerMaster = [0, 0, 0];
      await scanPrefix(redis, `${stack.config.redis.prefix}:*`, async (server, keys) => {
        keysPerMaster[server]! += keys.length;
        recordsPerMaster[server]! += keys.filter((k) => /:job:\{[^}]+\}$/.test(k)).length;
      });
      // 30 jobs over 3 masters: all on one or two would be a hash-tag mistake (odds by chance ≈ 1e-5).
      expect(recordsPerMaster.every((n) => n > 0)).toBe(true);
      expect(keysPerMaster.every((n) => n > 0)).toBe(true);

      const masterOf = async (key: string) => {
        const slot = Number(await redis.cluster('KEYSLOT', key));
        return (redis as Cluster).slots[slot]?.[0];
      };
      const ollamaQueue = `${stack.config.redis.prefix}:${stack.keys.queueName('ollama')}:wait`;
      const googleQueue = `${stack.config.redis.prefix}:${stack.keys.queueName('google')}:wait`;
      expect(await masterOf(ollamaQueue)).toBeDefined();
      expect(await masterOf(ollamaQueue)).not.toBe(await masterOf(googleQueue));
    } finally {
      redis.disconnect();
    }
  });
});

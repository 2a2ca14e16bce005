import { afterEach, describe, expect, it } from 'vitest';
import { type RestartableRedis, startLocalRedis } from '@mana/local-redis';
import { type SpawnedProcess, type Stack, spawnTs, startStack } from '@mana/testing';

const API = new URL('../../apps/api/src/main.ts', import.meta.url).pathname;
const WORKER = new URL('../../apps/worker/src/main.ts', import.meta.url).pathname;
const JOBS = 24;
const OUTAGE_MS = 3_000;

let redis: RestartableRedis | undefined;
let stack: Stack | undefined;
const processes: SpawnedProcess[] = [];

afterEach(async () => {
  for (const p of processes.splice(0)) p.child.kill('SIGKILL');
  await Promise.race([stack?.close(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  stack = undefined;
  redis?.stop();
});

async function submit(url: string, text: string): Promise<string> {
  const res = await fetch(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'chat', request: { model: 'mana/fast-text', messages: [{ role: 'user', content: text }] } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

interface JobView {
  status: string;
  result?: { choices: Array<{ message: { content: string } }> };
  hops: Array<{ target: string }>;
}

async function view(url: string, id: string): Promise<JobView | undefined> {
  const res = await fetch(`${url}/v1/jobs/${id}`).catch(() => undefined);
  return res?.status === 200 ? ((await res.json()) as JobView) : undefined;
}

describe('Redis goes away under load (AOF on) and comes back', () => {
  it.each(['kill -9', 'SHUTDOWN'] as const)(
    '%s for 3 s: every accepted job succeeds with its own answer, once, and no process exits',
    async (how) => {
      redis = await startLocalRedis({ appendOnly: true });
      // Slow enough that hops are mid-stream on the GPU when Redis dies.
      stack = await startStack({ gpus: 1, maxConcurrent: 3, workers: 0, redisUrl: redis.url, ollama: { perTokenMs: 60 }, env: { MANA_SHUTDOWN_GRACE_MS: '0' } });
      // Nothing may spill to the cloud for waiting out the outage: the GPU is to answer every job.
      const env = { ...stack.env, MANA_MAX_WAIT_ASYNC_MS: '600000', MANA_MAX_WAIT_INTERACTIVE_MS: '600000', MANA_LOG_LEVEL: 'info' };
      const api = spawnTs(API, [], env);
      const worker = spawnTs(WORKER, [], env);
      processes.push(api, worker);
      const { url } = JSON.parse(await api.waitForLine((l) => l.includes('"api listening"'))) as { url: string };
      await worker.waitForLine((l) => l.includes('"workers started"'));

      const ids = await Promise.all(Array.from({ length: JOBS }, (_, i) => submit(url, `outage job ${i}`)));
      // Sync requests waiting on their answers across the outage, too.
      const sync = Array.from({ length: 3 }, (_, i) =>
        fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: `outage sync ${i}` }] }),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as { choices?: Array<{ message: { content: string } }> } })),
      );
      // Every job accepted (the sync ones too) and the GPU mid-answer when Redis goes.
      await expect.poll(async () => (await stack!.jobs()).length, { timeout: 10_000 }).toBe(JOBS + 3);
      await expect.poll(() => stack!.gpus[0]!.stats.snapshot().inFlight, { timeout: 10_000 }).toBeGreaterThan(0);

      if (how === 'kill -9') await redis.kill();
      else await redis.shutdown();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await redis.restart();

      await expect
        .poll(async () => (await Promise.all(ids.map((id) => view(url, id)))).filter((v) => v && ['succeeded', 'failed', 'cancelled'].includes(v.status)).length, {
          timeout: 60_000,
          interval: 250,
        })
        .toBe(JOBS);
      const views = await Promise.all(ids.map((id) => view(url, id)));
      views.forEach((v, i) => {
        expect(v?.status, `job ${i}`).toBe('succeeded');
        expect(v?.result?.choices[0]?.message.content).toBe(`Echo from gemma3:4b: outage job ${i}`);
      });
      for (const [i, answer] of (await Promise.all(sync)).entries()) {
        expect(answer.status).toBe(200);
        expect(answer.body.choices?.[0]?.message.content).toBe(`Echo from gemma3:4b: outage sync ${i}`);
      }
      expect(api.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
      // Riding out the outage is the code's doing, not a last-resort handler's.
      for (const p of [api, worker]) expect(p.lines.filter((l) => l.includes('unhandled rejection'))).toEqual([]);
    },
    120_000,
  );
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiProcess, startApi } from '@mana/api';
import { loadConfig } from '@mana/config';
import { ConfigError } from '@mana/errors';
import { startLocalRedis } from '@mana/local-redis';
import { createLogger } from '@mana/logging';
import { type SpawnedProcess, type Stack, spawnTs, startStack } from '@mana/testing';
import { Redis } from 'ioredis';

const API_MAIN = new URL('../../apps/api/src/main.ts', import.meta.url).pathname;
const OLD = 'team-old-key-0123456789';
const NEW = 'team-new-key-0123456789';
const ADMIN = 'admin-key-for-rotation-0123';

let stack: Stack | undefined;
let api: SpawnedProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  api?.child.kill('SIGKILL');
  await stack?.close();
  stack = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const models = (url: string, key: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
const reload = (url: string) => fetch(`${url}/admin/aliases/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });

describe('API key rotation without a restart', () => {
  it('a key added to MANA_API_KEYS_FILE works, and one removed stops working, in every API process after one reload', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mana-keys-'));
    const file = join(dir, 'keys');
    await writeFile(file, `# tenant:key\nteam:${OLD}\n`);
    stack = await startStack({ gpus: 1, env: { MANA_API_KEYS_FILE: file, MANA_ADMIN_KEY: ADMIN } });
    api = spawnTs(API_MAIN, [], stack.env);
    const other = (JSON.parse(await api.waitForLine((l) => l.includes('"api listening"'))) as { url: string }).url;
    const urls = [stack.api.url, other];
    for (const url of urls) expect([await models(url, OLD), await models(url, NEW)]).toEqual([200, 401]);

    // Step 1: add the new key beside the old one; clients move over at their pace.
    await writeFile(file, `team:${OLD}\nteam:${NEW}\n`);
    expect((await reload(other)).status).toBe(200);
    for (const url of urls) expect([await models(url, OLD), await models(url, NEW)]).toEqual([200, 200]);

    // Step 2: revoke the old key.
    await writeFile(file, `team:${NEW}\n`);
    const answer = (await (await reload(stack.api.url)).json()) as { keys: { ok: boolean; keys: number }; processes: Array<{ keys: { count: number } }> };
    expect(answer.keys).toEqual({ ok: true, keys: 1 });
    expect(answer.processes.map((p) => p.keys.count)).toEqual([1, 1]);
    for (const url of urls) expect([await models(url, OLD), await models(url, NEW)]).toEqual([401, 200]);

    // A broken file keeps the keys in force and says why.
    await writeFile(file, `team:short\n`);
    const broken = await reload(other);
    expect(broken.status).toBe(422);
    expect(((await broken.json()) as { keys: { error: string } }).keys.error).toContain('keys must be at least 16 characters');
    for (const url of urls) expect(await models(url, NEW)).toBe(200);

    // An emptied file refuses everyone; it never turns the gateway into development mode.
    await writeFile(file, `# nobody\n`);
    expect((await reload(other)).status).toBe(200);
    for (const url of urls) expect(await models(url, NEW)).toBe(401);
  });
});

describe('a Redis that would evict queued work', () => {
  it('refuses to start, naming the setting to change; noeviction starts', async () => {
    const redis = await startLocalRedis();
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory', '104857600');
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const config = loadConfig({ REDIS_URL: redis.url, PORT: '0', MANA_REDIS_PREFIX: 'mana-evict-test', OLLAMA_HOSTS: 'gpu0=http://127.0.0.1:9' });
      const log = createLogger('silent', 'mana-test');
      const refused = await startApi(config, log).then(
        (p: ApiProcess) => p.close(0).then(() => undefined),
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toContain('maxmemory-policy allkeys-lru');
      expect((refused as Error).message).toContain('noeviction');
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      const started = await startApi(config, log);
      await started.close(0);
    } finally {
      admin.disconnect();
      redis.stop();
    }
  });
});

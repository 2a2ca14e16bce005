import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedProcess, type Stack, spawnTs, startStack } from '@mana/testing';
import { type FuzzCase, fuzzCases } from './fuzz/cases.js';

const GATEWAY = new URL('../../apps/gateway/src/main.ts', import.meta.url).pathname;
const CLIENT = 'fuzz-client-key-0123456789';
const ADMIN = 'fuzz-admin-key-0123456789';
const SEED = 20261201;
const CASES = 3_000;
const IN_FLIGHT = 12;

let stack: Stack;
let gateway: SpawnedProcess;
let url: string;

beforeAll(async () => {
  // The gateway under attack runs in a process of its own: a crash shows as an exit, not as a test-runner error.
  stack = await startStack({ gpus: 1, workers: 0 });
  gateway = spawnTs(GATEWAY, [], { ...stack.env, MANA_API_KEYS: `fuzz:${CLIENT}`, MANA_ADMIN_KEY: ADMIN, MANA_LOG_LEVEL: 'info' });
  url = (JSON.parse(await gateway.waitForLine((l) => l.includes('"api listening"'), 30_000)) as { url: string }).url;
}, 60_000);

afterAll(async () => {
  gateway?.child.kill('SIGKILL');
  await stack?.close();
});

interface Answer {
  status: number;
  body: string;
}

/** One case over a raw HTTP connection: no client-side validation gets in the way. */
function send(c: FuzzCase): Promise<Answer | 'cut'> {
  const target = new URL(url);
  const headers = { ...c.headers, ...(c.body ? { 'content-length': String(c.body.length) } : {}) };
  if (c.cutShort) {
    return new Promise((resolve) => {
      const socket = connect(Number(target.port), target.hostname, () => {
        const head = [`${c.method} ${c.path} HTTP/1.1`, `host: ${target.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
        socket.write(head);
        socket.write(c.body!.subarray(0, c.body!.length - c.cutShort!));
        // The client goes away with the body unfinished.
        setImmediate(() => socket.destroy());
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve('cut'));
    });
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method: c.method, path: c.path, headers, timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // An SSE stream of a job that exists would not end: a status is all we need.
        body += chunk;
        if (res.headers['content-type']?.includes('text/event-stream')) res.destroy();
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out: ${c.method} ${c.path}`)));
    req.on('error', (err) => {
      // A server may close on a request it cannot parse (Node's own 400/431): never a crash.
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE') resolve({ status: 400, body: 'connection closed' });
      else reject(err);
    });
    req.end(c.body);
  });
}

async function alive(): Promise<boolean> {
  const res = await fetch(`${url}/health`).catch(() => undefined);
  return res?.status === 200;
}

describe('a hostile client', () => {
  it(`${CASES} malformed requests over every route: not one 5xx, and the process lives`, async () => {
    const failures: string[] = [];
    const statuses = new Map<number | 'cut', number>();
    const cases = fuzzCases(SEED, CASES, { client: CLIENT, admin: ADMIN });
    let n = 0;
    const runOne = async (): Promise<void> => {
      for (let next = cases.next(); !next.done; next = cases.next()) {
        const index = n++;
        const answer = await send(next.value);
        const status = answer === 'cut' ? 'cut' : answer.status;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (answer !== 'cut' && answer.status >= 500)
          failures.push(`case ${index} ${next.value.method} ${next.value.path.slice(0, 80)} → ${answer.status} ${answer.body.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, runOne));
    expect(n).toBe(CASES);
    expect(failures).toEqual([]);
    // Both kinds of answer happened: the cases reach the routes' validation, not only the auth gate.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect(await alive()).toBe(true);
    expect(gateway.child.exitCode).toBeNull();
  }, 180_000);

  it('a body over the limit is a 413, a body cut inside a file part a 400, and the process lives', async () => {
    const huge = await send({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
      body: Buffer.alloc(21 * 1024 * 1024, 0x20),
    });
    expect(huge).toMatchObject({ status: 413 });
    for (let i = 0; i < 20; i++) {
      const cut = fuzzCut(i);
      expect(await send(cut)).toBe('cut');
    }
    expect(await alive()).toBe(true);
    expect(gateway.child.exitCode).toBeNull();
  });
});

describe('bad input named in the hardening report', () => {
  const auth = { authorization: `Bearer ${CLIENT}` };
  it.each([
    ['GET', '/v1/jobs/%ZZ', {}, 400, 'invalid_request'],
    ['GET', '/v1/files/%ZZ', {}, 400, 'invalid_request'],
    ['GET', '/v1/batches/%ZZ', {}, 400, 'invalid_request'],
    ['POST', '/admin/gpus/%ZZ/drain', { authorization: `Bearer ${ADMIN}` }, 400, 'invalid_request'],
    ['POST', '/v1/files', { 'content-type': 'multipart/form-data' }, 400, 'invalid_request'],
    ['POST', '/v1/chat/completions', { 'content-type': 'application/json; charset=latin1' }, 415, 'unsupported_media_type'],
  ] as const)('%s %s %o → %i %s', async (method, path, headers, status, code) => {
    const answer = await send({ method, path, headers: { ...auth, ...headers }, body: method === 'POST' ? Buffer.from('{"messages":[]}') : undefined });
    expect(answer).not.toBe('cut');
    const { status: got, body } = answer as Answer;
    expect(got).toBe(status);
    expect((JSON.parse(body) as { error: { code: string } }).error.code).toBe(code);
  });
});

/** The exact request of the crash report: a POST /v1/files whose multipart body stops inside the file part. */
function fuzzCut(i: number): FuzzCase {
  const boundary = `----cut${i}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n\r\n{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n`.padEnd(
      4096,
      'x',
    ),
  );
  return {
    method: 'POST',
    path: '/v1/files',
    headers: { authorization: `Bearer ${CLIENT}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    cutShort: 100 + i,
  };
}

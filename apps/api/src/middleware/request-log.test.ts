import { once } from 'node:events';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { requestId } from './request-id.js';
import { requestLog } from './request-log.js';

interface Line {
  level: number;
  msg: string;
  req: { id: string; method: string; url: string };
  res: { status: number; jobId?: string; provider?: string; hops?: string };
  responseTime: number;
}

/** An app with the request id and request log in front of a few routes, logging into `lines`. */
async function serve(lines: Line[]): Promise<{ url: string; server: Server }> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const app = express();
  app.use(requestId());
  app.use(requestLog(pino({ level: 'info' }, sink)));
  app.get('/health', (_req, res) => void res.send('ok'));
  app.post('/v1/job', (_req, res) => {
    res.setHeader('x-mana-job-id', 'job_1');
    res.setHeader('x-mana-provider', 'ollama');
    res.setHeader('x-mana-hops', '2');
    res.json({ ok: true });
  });
  app.get('/broken', (_req, res) => void res.status(502).json({ error: 'upstream' }));
  app.get('/slow', () => {}); // never answers: the client gives up
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function until(lines: Line[], count: number): Promise<void> {
  while (lines.length < count) await new Promise((resolve) => setImmediate(resolve));
}

describe('request log', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('writes one info line per answered request, with the job it made and without the query string', async () => {
    const lines: Line[] = [];
    const served = await serve(lines);
    server = served.server;
    const res = await fetch(`${served.url}/v1/job?secret=1`, { method: 'POST', headers: { 'x-request-id': 'req-1' } });
    expect(res.status).toBe(200);
    await until(lines, 1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { id: 'req-1', method: 'POST', url: '/v1/job' },
      res: { status: 200, jobId: 'job_1', provider: 'ollama', hops: '2' },
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
  });

  it('logs a 5xx answer at error, and skips probe routes', async () => {
    const lines: Line[] = [];
    const served = await serve(lines);
    server = served.server;
    expect((await fetch(`${served.url}/health`)).status).toBe(200);
    expect((await fetch(`${served.url}/broken`)).status).toBe(502);
    await until(lines, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'request errored', req: { url: '/broken' }, res: { status: 502 } });
  });

  it('logs a request whose client went away before the answer at warn', async () => {
    const lines: Line[] = [];
    const served = await serve(lines);
    server = served.server;
    const req = httpRequest(`${served.url}/slow`);
    req.on('error', () => {});
    req.end();
    // The server has the request once its connection is counted; then the client hangs up.
    while ((await new Promise<number>((resolve) => served.server.getConnections((_e, n) => resolve(n)))) === 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    req.destroy();
    await until(lines, 1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'request aborted', req: { url: '/slow' } });
  });
});

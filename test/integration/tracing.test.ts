import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from '@mana/testing';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
}

// A stand-in OpenTelemetry collector: it takes OTLP/HTTP JSON exports as a real one would.
let collector: Server;
let endpoint: string;
const spans: ExportedSpan[] = [];
const services = new Set<string>();

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const exported = JSON.parse(body) as { resourceSpans: Array<{ resource: { attributes: ExportedSpan['attributes'] }; scopeSpans: Array<{ spans: ExportedSpan[] }> }> };
        for (const rs of exported.resourceSpans) {
          for (const a of rs.resource.attributes) if (a.key === 'service.name' && a.value.stringValue) services.add(a.value.stringValue);
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

const attribute = (span: ExportedSpan | undefined, key: string) => span?.attributes.find((a) => a.key === key)?.value.stringValue;

describe('OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('follows one request from the API through its BullMQ queue to the worker that called the GPU, in one trace', async () => {
    const stack = await startStack({ gpus: 1, env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'mana-test' } });
    let jobId = '';
    try {
      const res = await fetch(`${stack.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mana/fast-text', messages: [{ role: 'user', content: 'trace me' }] }),
      });
      expect(res.status).toBe(200);
      jobId = res.headers.get('x-mana-job-id') ?? '';
    } finally {
      // Closing flushes every span still buffered.
      await stack.close();
    }
    const submit = spans.find((s) => s.name === 'mana.submit' && attribute(s, 'mana.job_id') === jobId);
    const call = spans.find((s) => s.name === 'mana.provider_call' && attribute(s, 'mana.job_id') === jobId);
    expect(submit).toBeDefined();
    expect(call).toBeDefined();
    expect(attribute(call, 'mana.target')).toBe('ollama/gemma3:4b');
    // Same trace, joined by BullMQ's own producer and consumer spans in between.
    expect(call!.traceId).toBe(submit!.traceId);
    const trace = spans.filter((s) => s.traceId === submit!.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const ancestry: string[] = [];
    for (let s: ExportedSpan | undefined = call; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) ancestry.push(s.name);
    expect(ancestry[0]).toBe('mana.provider_call');
    expect(ancestry.at(-1)).toBe('mana.submit');
    expect(ancestry.length).toBeGreaterThanOrEqual(3);
    expect(services).toEqual(new Set(['mana-test']));
  });
});

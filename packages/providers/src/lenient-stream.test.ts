import { describe, expect, it } from 'vitest';
import { skippingMalformedEvents } from './lenient-stream.js';

/** A fetch answering `chunks` as a streamed body of `type`, split where the chunks split. */
const answering = (type: string, chunks: string[]) => async () =>
  new Response(new ReadableStream({ start: (c) => (chunks.forEach((chunk) => c.enqueue(new TextEncoder().encode(chunk))), c.close()) }), {
    headers: { 'content-type': type },
  });

async function read(type: string, chunks: string[]) {
  const dropped: string[] = [];
  const fetch = skippingMalformedEvents(answering(type, chunks), 'p', (_provider, sample) => dropped.push(sample));
  return { body: await (await fetch('http://x')).text(), dropped };
}

describe('skippingMalformedEvents', () => {
  it('drops an SSE event whose data is not JSON, wherever the chunks split, and keeps comments, [DONE] and the rest', async () => {
    const { body, dropped } = await read('text/event-stream', [': PROCESSING\n\ndata: {"a":1}\n', '\ndata: {"b":\n\ndata: {"c"', ':3}\r\n\r\ndata: [DONE]\n\n']);
    expect(body).toBe(': PROCESSING\n\ndata: {"a":1}\n\ndata: {"c":3}\r\n\r\ndata: [DONE]\n\n');
    expect(dropped).toEqual(['data: {"b":']);
  });

  it('drops an NDJSON line that does not parse and passes an unterminated tail through as it came', async () => {
    const { body, dropped } = await read('application/x-ndjson', ['{"a":1}\n{"b"', '\n{"c":3}\n{"d":']);
    expect(body).toBe('{"a":1}\n{"c":3}\n{"d":');
    expect(dropped).toEqual(['{"b"']);
  });

  it('leaves a whole JSON body alone', async () => {
    const { body, dropped } = await read('application/json', ['{"not":', 'streamed}']);
    expect([body, dropped]).toEqual(['{"not":streamed}', []]);
  });
});

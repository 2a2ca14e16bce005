/**
 * Called for each streamed event that was dropped because its JSON does not
 * parse: the provider it came from and the start of the event.
 */
export type MalformedChunkHook = (provider: string, sample: string) => void;

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const SSE_DELIMITERS = ['\r\n\r\n', '\n\n', '\r\r'];

/**
 * A `fetch` whose streamed bodies (SSE, NDJSON) lose any event whose JSON does
 * not parse, before the SDK reads them. One garbled event from an upstream
 * would otherwise make the SDK's parser throw and kill an answer that was
 * otherwise fine; a missing piece of text is less harm than a dead hop, and
 * each drop is reported (logged and counted by the worker).
 */
export function skippingMalformedEvents(base: Fetch, provider: string, onMalformed: MalformedChunkHook | undefined): Fetch {
  return async (input, init) => {
    const response = await base(input, init);
    const type = response.headers.get('content-type') ?? '';
    const framing = type.includes('text/event-stream') ? 'sse' : type.includes('ndjson') ? 'ndjson' : undefined;
    if (!framing || !response.body || !response.ok) return response;
    const filtered = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(eventFilter(framing, (sample) => onMalformed?.(provider, sample)))
      .pipeThrough(new TextEncoderStream());
    return new Response(filtered, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

function eventFilter(framing: 'sse' | 'ndjson', dropped: (sample: string) => void): TransformStream<string, string> {
  let buffer = '';
  return new TransformStream<string, string>({
    transform(text, controller) {
      buffer += text;
      for (;;) {
        const [at, length] = framing === 'sse' ? firstDelimiter(buffer) : [buffer.indexOf('\n'), 1];
        if (at < 0) return;
        const event = buffer.slice(0, at);
        const whole = buffer.slice(0, at + length);
        buffer = buffer.slice(at + length);
        if (parses(framing, event)) controller.enqueue(whole);
        else dropped(event.slice(0, 200));
      }
    },
    // Whatever is left unterminated goes to the SDK as it came: a cut stream must still look cut.
    flush(controller) {
      if (buffer) controller.enqueue(buffer);
    },
  });
}

function firstDelimiter(buffer: string): [number, number] {
  let best: [number, number] = [-1, 0];
  for (const d of SSE_DELIMITERS) {
    const at = buffer.indexOf(d);
    if (at >= 0 && (best[0] < 0 || at < best[0])) best = [at, d.length];
  }
  return best;
}

/** True unless the event carries data that is not JSON (comments, `[DONE]` and empty lines pass). */
function parses(framing: 'sse' | 'ndjson', event: string): boolean {
  let data = event.trim();
  if (framing === 'sse') {
    data = event
      .split(/\r\n|\r|\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n')
      .trim();
  }
  if (data === '' || data === '[DONE]') return true;
  try {
    JSON.parse(data);
    return true;
  } catch {
    return false;
  }
}

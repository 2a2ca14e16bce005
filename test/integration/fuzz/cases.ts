import { mulberry32 } from '@mana/emulators';

/**
 * Hostile and careless requests for the fuzz test: every route, with bodies
 * that are malformed, of the wrong type, deep, huge or cut short, odd
 * encodings, broken ids and headers. Deterministic for a seed, so a failing
 * case can be replayed by its number.
 */

export interface FuzzCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | undefined;
  /** Send this many body bytes less than content-length promises, then close the socket. */
  cutShort?: number | undefined;
}

/** Deterministic for a seed, on every machine. */
export const seededRandom = mulberry32;

const BAD_IDS = ['%ZZ', '%', '%E0%A4%A', 'job_%00', '..%2F..%2Fetc', 'x'.repeat(5000), '%F0%9F%92%A9', 'file-', '\u00e9t\u00e9', 'null', '0', '-1', 'job_' + 'a'.repeat(32)];
// Never a real provider or GPU name: pausing or draining the stack's own would make later cases wait.
const BAD_NAMES = ['%ZZ', 'nope', 'gpu%2F0', 'x'.repeat(300), 'OLLAMA', '', '%00'];
const MODELS = ['mana/fast-text', 'mana/embed', 'mana/nope', 'gemma3:4b', 'google/', '/', 'ollama/', 'x'.repeat(2000), 'mana/', 'groq/%ZZ', '', 'google/gemini-2.0-flash'];

type Gen = () => number;
const pick = <T>(rand: Gen, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;

function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function randomValue(rand: Gen, depth = 0): unknown {
  const r = rand();
  if (depth > 3 || r < 0.2) return pick(rand, [null, true, false, 0, -1, 1e308, 'x', '', '\u0000', 'x'.repeat(100), 3.5, -0]);
  if (r < 0.5) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const keys = [
    'model',
    'messages',
    'input',
    'role',
    'content',
    'type',
    'request',
    'stream',
    'max_tokens',
    'temperature',
    'tools',
    'image_url',
    'url',
    'purpose',
    'input_file_id',
    'endpoint',
    'completion_window',
    'metadata',
    'priority',
    'max_wait_ms',
    'dimensions',
    'encoding_format',
    'response_format',
    '__proto__',
    'constructor',
  ];
  return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [pick(rand, keys), randomValue(rand, depth + 1)]));
}

/** Request bodies that are almost right: a valid shape with one field broken. */
function nearlyValidBody(rand: Gen, path: string): unknown {
  const message = () =>
    pick(rand, [
      { role: 'user', content: 'hi' },
      { role: pick(rand, ['user', 'system', 'assistant', 'tool', 'bogus', 1]), content: randomValue(rand) },
      {
        role: 'user',
        content: [
          {
            type: pick(rand, ['text', 'image_url', 'audio', 7]),
            text: randomValue(rand),
            image_url: { url: pick(rand, ['data:image/png;base64,%%%', 'data:,', 'http://127.0.0.1/x.png', 'data:image/png;base64,iVBORw0KGgo=', randomValue(rand)]) },
          },
        ],
      },
    ]);
  if (path.includes('embeddings'))
    return {
      model: pick(rand, MODELS),
      input: pick(rand, [[1, 2, 3], [[1, 2]], '', [], ['a', 2], 'x'.repeat(1000), randomValue(rand)]),
      dimensions: pick(rand, [undefined, 0, -5, 1e9, 'x', 3]),
      encoding_format: pick(rand, [undefined, 'float', 'base64', 'hex']),
    };
  if (path.includes('jobs'))
    return {
      type: pick(rand, ['chat', 'embedding', 'x', undefined]),
      request: pick(rand, [{ messages: [message()] }, randomValue(rand), { input: 'x' }]),
      priority: pick(rand, [undefined, 'batch', 'urgent', 5]),
      max_wait_ms: pick(rand, [undefined, -1, 'soon', 1e12, 0]),
      metadata: pick(rand, [undefined, { a: 'b' }, { a: 1 }, 'x', Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))]),
    };
  if (path.includes('batches'))
    return {
      input_file_id: pick(rand, ['file-x', '', 5, undefined, '%ZZ']),
      endpoint: pick(rand, ['/v1/chat/completions', '/v1/embeddings', '/v1/nope', undefined]),
      completion_window: pick(rand, ['24h', '0s', '99d', 'soon', 5, undefined]),
      metadata: randomValue(rand),
    };
  return {
    model: pick(rand, [...MODELS, undefined, 5, null]),
    messages: pick(rand, [[message()], [], 'hi', [message(), message()], undefined, Array.from({ length: 3 }, message)]),
    stream: pick(rand, [undefined, false, 'yes', 1]),
    max_tokens: pick(rand, [undefined, 0, -1, 1e12, 'ten', 4]),
    temperature: pick(rand, [undefined, -1, 3, 'hot', 0.5]),
    stop: pick(rand, [undefined, 'x', [], ['a', 'b', 'c', 'd', 'e'], 5]),
    response_format: pick(rand, [
      undefined,
      { type: 'json_object' },
      { type: 'json_schema' },
      { type: 'json_schema', json_schema: { name: 'x', schema: randomValue(rand) } },
      'json',
    ]),
    stream_options: pick(rand, [undefined, { include_usage: 'yes' }, null]),
    n: pick(rand, [undefined, 2, 0]),
  };
}

const JSON_ROUTES: ReadonlyArray<[string, string]> = [
  ['POST', '/v1/chat/completions'],
  ['POST', '/v1/embeddings'],
  ['POST', '/v1/jobs'],
  ['POST', '/v1/batches'],
  ['POST', '/v1/responses'],
  ['POST', '/v1/completions'],
  ['POST', '/v1/messages'],
  ['POST', '/v1/messages/count_tokens'],
  ['POST', '/api/chat'],
  ['POST', '/api/generate'],
  ['POST', '/api/embed'],
  ['POST', '/api/embeddings'],
  ['POST', '/api/show'],
];

function idRoute(rand: Gen): [string, string] {
  const id = pick(rand, BAD_IDS);
  const name = pick(rand, BAD_NAMES);
  return pick(rand, [
    ['GET', `/v1/jobs/${id}`],
    ['DELETE', `/v1/jobs/${id}`],
    ['GET', `/v1/jobs/${id}/events`],
    ['GET', `/v1/files/${id}`],
    ['GET', `/v1/files/${id}/content`],
    ['GET', `/v1/batches/${id}`],
    ['POST', `/v1/batches/${id}/cancel`],
    ['GET', `/v1/models/${id}`],
    ['DELETE', `/v1/files/${id}`],
    ['GET', `/v1/responses/${id}`],
    ['GET', `/v1/responses/${id}?stream=true&starting_after=${id}`],
    ['POST', `/v1/responses/${id}/cancel`],
    ['POST', `/api/${name}`],
    ['POST', `/admin/gpus/${name}/drain`],
    ['POST', `/admin/gpus/${name}/resume`],
    ['POST', `/admin/queues/${name}/pause`],
    ['POST', `/admin/queues/${name}/resume`],
    ['GET', `/admin/queues/api/queues/${id}`],
    ['GET', `/${id}`],
  ] as Array<[string, string]>);
}

const PLAIN_ROUTES: ReadonlyArray<[string, string]> = [
  ['GET', '/health'],
  ['GET', '/ready'],
  ['GET', '/status'],
  ['GET', '/metrics'],
  ['GET', '/v1/models'],
  ['GET', '/v1/batches'],
  ['GET', '/v1/files'],
  ['GET', '/v1/files?limit=-1&order=sideways'],
  ['GET', '/api/tags'],
  ['GET', '/api/ps'],
  ['GET', '/api/version'],
  ['GET', '/'],
  ['HEAD', '/'],
  ['GET', '/admin/aliases'],
  ['GET', '/admin/gpus'],
  ['GET', '/admin/queues'],
  ['GET', '/v1/batches?limit=-5'],
  ['GET', '/v1/batches?limit=%ZZ'],
  ['GET', '/v1/batches?limit=1e99&after=%ZZ'],
  ['PUT', '/v1/chat/completions'],
  ['OPTIONS', '/v1/chat/completions'],
  ['PATCH', '/v1/jobs'],
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=nonsense',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'application/*',
  '',
];

function multipartBody(rand: Gen): { body: Buffer; contentType: string; cutShort?: number } {
  const boundary = `----mana${Math.floor(rand() * 1e9)}`;
  const line = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }] } });
  const parts = [
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${pick(rand, ['batch', 'fine-tune', '', 'x'.repeat(500)])}\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${pick(rand, ['in.jsonl', '', '../../x', '%ZZ'])}"\r\nContent-Type: application/jsonl\r\n\r\n${line}\n${line}\n\r\n`,
    `--${boundary}--\r\n`,
  ];
  const mode = pick(rand, ['whole', 'cut-in-file', 'no-end', 'no-file', 'two-files', 'garbage']);
  let text = parts.join('');
  if (mode === 'no-end') text = parts.slice(0, 2).join('');
  if (mode === 'no-file') text = parts[0]! + parts[2]!;
  if (mode === 'two-files') text = parts[0]! + parts[1]! + parts[1]! + parts[2]!;
  if (mode === 'garbage') text = `--${boundary}\r\nnonsense\r\n\r\n${'\u0000'.repeat(50)}`;
  const body = Buffer.from(text);
  const contentType = pick(rand, [
    `multipart/form-data; boundary=${boundary}`,
    `multipart/form-data; boundary=${boundary}`,
    'multipart/form-data',
    `multipart/form-data; boundary="${boundary}x"`,
  ]);
  if (mode === 'cut-in-file') {
    // The body stops inside the file part: what a dropped connection or a killed client sends.
    const cutAt = text.indexOf(line) + Math.floor(line.length / 2);
    return { body, contentType, cutShort: body.length - cutAt };
  }
  return { body, contentType };
}

function jsonBody(rand: Gen, path: string): Buffer {
  const r = rand();
  if (r < 0.35) return Buffer.from(JSON.stringify(nearlyValidBody(rand, path)));
  if (r < 0.55) return Buffer.from(JSON.stringify(randomValue(rand)));
  if (r < 0.7) {
    const good = JSON.stringify(nearlyValidBody(rand, path));
    return Buffer.from(good.slice(0, Math.floor(rand() * good.length))); // truncated JSON
  }
  if (r < 0.78) return Buffer.from(deepJson(pick(rand, [100, 5_000, 50_000]), pick(rand, ['array', 'object'])));
  if (r < 0.84) {
    // Deep inside a field the routes copy into the job (metadata, message content).
    const deep = deepJson(pick(rand, [2_000, 20_000]), pick(rand, ['array', 'object']));
    return Buffer.from(
      pick(rand, [
        `{"type":"chat","request":{"messages":[{"role":"user","content":"x"}]},"metadata":${deep}}`,
        `{"messages":[{"role":"user","content":${deep}}]}`,
        `{"input":${deep}}`,
      ]),
    );
  }
  if (r < 0.9) return Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256))); // random bytes
  if (r < 0.95) return Buffer.from(`{"messages":[{"role":"user","content":"${'\\ud800'.repeat(10)}${'\\u'}"}]}`); // bad escapes
  return Buffer.from('');
}

function headers(rand: Gen, keys: { client: string; admin: string }): Record<string, string> {
  const h: Record<string, string> = {};
  const path = rand();
  const auth = pick(rand, [keys.client, keys.client, keys.client, keys.admin, 'wrong-key-0123456789', '', 'x'.repeat(3000)]);
  if (path < 0.9) h.authorization = pick(rand, [`Bearer ${auth}`, `Bearer ${auth}`, auth, 'Basic %%%', `Bearer  ${auth} `, 'Bearer']);
  if (rand() < 0.15) h['x-mana-priority'] = pick(rand, ['interactive', 'batch', 'urgent', '', '%ZZ']);
  if (rand() < 0.15) h['x-mana-max-wait-ms'] = pick(rand, ['-1', 'soon', '1e400', '0', '99999999999999999999']);
  if (rand() < 0.1) h['idempotency-key'] = pick(rand, ['k', '', 'x'.repeat(2000), '\u00e9']);
  if (rand() < 0.1) h['last-event-id'] = pick(rand, ['-1', 'x', '1e99', '99999999999']);
  if (rand() < 0.05) h['content-encoding'] = pick(rand, ['gzip', 'br', 'deflate', 'nonsense', 'identity']);
  if (rand() < 0.05) h['x-request-id'] = pick(rand, ['x'.repeat(1000), '', '\t']);
  return h;
}

/** The `n`th case of the sequence for `seed`. */
export function* fuzzCases(seed: number, count: number, keys: { client: string; admin: string }): Generator<FuzzCase> {
  const rand = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    const r = rand();
    const h = headers(rand, keys);
    if (r < 0.45) {
      const [method, path] = pick(rand, JSON_ROUTES);
      const contentType = pick(rand, CONTENT_TYPES);
      if (contentType) h['content-type'] = contentType;
      yield { method, path, headers: h, body: jsonBody(rand, path) };
    } else if (r < 0.6) {
      const { body, contentType, cutShort } = multipartBody(rand);
      h['content-type'] = contentType;
      yield { method: 'POST', path: '/v1/files', headers: h, body, cutShort };
    } else if (r < 0.85) {
      const [method, path] = idRoute(rand);
      yield { method, path, headers: h, ...(method === 'POST' && rand() < 0.3 ? { body: jsonBody(rand, path) } : {}) };
    } else {
      const [method, path] = pick(rand, PLAIN_ROUTES);
      yield { method, path, headers: h };
    }
  }
}

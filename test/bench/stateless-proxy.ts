import { Agent, type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * The floor of any gateway written in Node, run by the latency, throughput
 * and embeddings benches beside Mana: HTTP in, JSON parsed, one keep-alive
 * HTTP call to Ollama's /api/chat (or /api/embed), an OpenAI-shaped answer
 * out. It keeps nothing, logs nothing, routes nothing: what it costs, every
 * Node gateway pays before it does any of its own work. Started as a process of its own (PORT,
 * OLLAMA_URL), ready when GET /ready answers.
 *
 * With QUEUE_REDIS_URL it is the floor of a gateway that queues: each call to Ollama is a
 * BullMQ job (its request in the job's data, its answer the job's return value, so both
 * cross Redis once), run by a Worker in this process and answered from its `completed`
 * event. Nothing else: no record, no events, no logs.
 */
const upstream = new URL(process.env.OLLAMA_URL ?? 'http://127.0.0.1:11434');
// With a timeout of its own, Node's agent heeds the emulator's `Keep-Alive: timeout=5` and closes
// an idle connection first: otherwise a call sent as the emulator closes one idled between a
// bench's rounds is reset ("socket hang up", seen once). Mana's own Ollama client does the same.
const agent = new Agent({ keepAlive: true, maxSockets: 1024, timeout: 30_000 });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function ollamaChat(model: string, messages: unknown): Promise<{ message: { content: string }; prompt_eval_count?: number; eval_count?: number }> {
  return ollamaCall('/api/chat', { model: model.replace(/^ollama\//, ''), messages, stream: false });
}

/** The upstream call: straight to Ollama, or through a BullMQ queue (QUEUE_REDIS_URL). */
const ollamaCall: <T>(path: string, payload: unknown) => Promise<T> = process.env.QUEUE_REDIS_URL ? queuedCalls(process.env.QUEUE_REDIS_URL) : directCall;

function queuedCalls(redisUrl: string): <T>(path: string, payload: unknown) => Promise<T> {
  const name = `bench-queued-${randomUUID().slice(0, 8)}`;
  const connection = () => new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: connection(), defaultJobOptions: { removeOnComplete: true } });
  const waiting = new Map<string, { resolve: (answer: unknown) => void; reject: (err: Error) => void }>();
  // Embeddings cross Redis packed, as base64 float32: the form a queued gateway would keep them in.
  const worker = new Worker(
    name,
    async (job: Job<{ path: string; payload: unknown }>) => {
      const answer = await directCall<{ embeddings?: number[][] }>(job.data.path, job.data.payload);
      return answer.embeddings ? { ...answer, embeddings: answer.embeddings.map(pack) } : answer;
    },
    { connection: connection(), concurrency: 256 },
  );
  worker.on('completed', (job, answer) => waiting.get(job.id ?? '')?.resolve(answer));
  // A failed call is answered 502 (see handle), never left hanging.
  worker.on('failed', (job, err) => waiting.get(job?.id ?? '')?.reject(err));
  return async <T>(path: string, payload: unknown): Promise<T> => {
    const id = randomUUID();
    const answered = new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
    try {
      await queue.add('call', { path, payload }, { jobId: id });
      return (await answered) as T;
    } finally {
      waiting.delete(id);
    }
  };
}

function pack(vector: number[]): string {
  return Buffer.from(Float32Array.from(vector).buffer).toString('base64');
}

function unpack(vector: number[] | string): number[] {
  if (typeof vector !== 'string') return vector;
  // A buffer of its own (Buffer.alloc never takes Node's pool), so the floats start on a 4-byte boundary.
  const bytes = Buffer.alloc(Buffer.byteLength(vector, 'base64'));
  const length = bytes.write(vector, 'base64');
  return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, length >> 2));
}

function directCall<T>(path: string, payload: unknown): Promise<T> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, upstream), { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      readBody(res).then((text) => {
        try {
          resolve(JSON.parse(text) as never);
        } catch (err) {
          reject(err as Error);
        }
      }, reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** /v1/embeddings the plain way: Ollama's floats parsed, and sent on as base64 float32 (the openai SDK's default) or as the numbers parsed. */
async function embeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { model, input, encoding_format: encoding } = JSON.parse(await readBody(req)) as { model: string; input: unknown; encoding_format?: string };
  const answer = await ollamaCall<{ embeddings: Array<number[] | string>; prompt_eval_count?: number }>('/api/embed', { model: model.replace(/^ollama\//, ''), input });
  const data = answer.embeddings.map((vector, index) => ({
    object: 'embedding',
    index,
    embedding: encoding === 'base64' ? (typeof vector === 'string' ? vector : pack(vector)) : unpack(vector),
  }));
  const tokens = answer.prompt_eval_count ?? 0;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/ready') return void res.end('ok');
  if (req.method === 'POST' && req.url === '/v1/embeddings') return embeddings(req, res);
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.statusCode = 404;
    return void res.end();
  }
  const { model, messages } = JSON.parse(await readBody(req)) as { model: string; messages: unknown };
  const answer = await ollamaChat(model, messages);
  const body = JSON.stringify({
    id: `chatcmpl-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: answer.message.content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: answer.prompt_eval_count ?? 0, completion_tokens: answer.eval_count ?? 0, total_tokens: (answer.prompt_eval_count ?? 0) + (answer.eval_count ?? 0) },
  });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

createServer((req, res) => {
  handle(req, res).catch((err: Error) => {
    res.statusCode = 502;
    res.end(err.message);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');

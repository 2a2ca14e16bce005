import { type Request, type Response, Router } from 'express';
import { type Work, embeddingsForJson, jsonBytes } from '@mana/jobs';
import { httpStatusOf } from '@mana/errors';
import type { ApiDeps } from '../deps.js';
import { sendJson, sendJsonBytes } from '../http/json-bytes.js';
import { schedulingFrom } from '../job-options.js';
import { type Route, deltaFrame, doneFrame, loadedFrame, ollamaErrorBody, ollamaModelName } from '../ollama/bodies.js';
import { OllamaChatSchema, OllamaEmbedSchema, OllamaEmbeddingsSchema, OllamaGenerateSchema } from '../ollama/schemas.js';
import { fromOllamaChat, fromOllamaGenerate } from '../ollama/translate.js';
import { type WatchedJob, failureOf, setJobHeaders, submitAndWatch } from '../watch-job.js';

/**
 * Ollama's own API over the queue: /api/chat, /api/generate, /api/embed and
 * /api/embeddings become Mana jobs with the same routing, capping, spill and
 * fallback as the OpenAI routes; the model may be an alias or an Ollama
 * model, and a fallback's answer comes back in Ollama's shape naming the
 * model that answered. Streams are NDJSON, as Ollama's (on by default).
 */
export function ollamaRouter(deps: ApiDeps): Router {
  const router = Router();
  router.post('/api/chat', async (req: Request, res: Response) => {
    const body = OllamaChatSchema.parse(req.body);
    if (body.messages.length === 0) return void res.json(loadedFrame('chat', body.model));
    await answer(deps, req, res, 'chat', body.model, fromOllamaChat(body));
  });
  router.post('/api/generate', async (req: Request, res: Response) => {
    const body = OllamaGenerateSchema.parse(req.body);
    if (body.prompt === '' && !body.images?.length) return void res.json(loadedFrame('generate', body.model));
    await answer(deps, req, res, 'generate', body.model, fromOllamaGenerate(body));
  });
  router.post('/api/embed', async (req: Request, res: Response) => {
    const body = OllamaEmbedSchema.parse(req.body);
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    const done = await embed(deps, req, res, body.model, { kind: 'embedding', input, ...(body.dimensions ? { dimensions: body.dimensions } : {}) });
    if (!done) return;
    // Written as bytes around each vector (see jsonBytes), at float32 precision as Ollama's own answer.
    const vectors = done.embeddings.flatMap((v, i) => (i > 0 ? [',', v] : [v]));
    const fields = `"total_duration":${done.totalNs},"load_duration":0,"prompt_eval_count":${done.promptTokens}`;
    sendJsonBytes(res, jsonBytes([`{"model":${JSON.stringify(done.model)},"embeddings":[`, ...vectors, `],${fields}}`]));
  });
  router.post('/api/embeddings', async (req: Request, res: Response) => {
    const body = OllamaEmbeddingsSchema.parse(req.body);
    const done = await embed(deps, req, res, body.model, { kind: 'embedding', input: [body.prompt] });
    if (done) sendJsonBytes(res, jsonBytes(['{"embedding":', done.embeddings[0] ?? '[]', '}']));
  });
  return router;
}

async function answer(deps: ApiDeps, req: Request, res: Response, route: Route, model: string, work: Extract<Work, { kind: 'chat' }>): Promise<void> {
  const startedAt = performance.now();
  const watched = await submitAndWatch(deps, res, { work, model, ...schedulingFrom(req, 'interactive') });
  try {
    setJobHeaders(res, watched.accepted.id);
    if (work.stream) await streamAnswer(res, watched, route, model, startedAt);
    else await wholeAnswer(res, watched, route, startedAt);
  } finally {
    watched.stop();
  }
}

async function wholeAnswer(res: Response, watched: WatchedJob, route: Route, startedAt: number): Promise<void> {
  for await (const event of watched.events) {
    if (event.type === 'done') {
      setJobHeaders(res, event.job, event);
      return sendJson(res, doneFrame(route, event, startedAt, (event.result as { content: string }).content));
    }
    const failure = failureOf(event);
    if (failure) return void res.status(httpStatusOf(failure.code)).json(ollamaErrorBody(failure));
  }
}

/**
 * NDJSON, one object per piece, the last with `done: true`. Headers wait
 * for the first token, so a fallback before it is invisible; a cut stream
 * continued by the next target goes on; a failure after the first token is
 * Ollama's mid-stream `{"error": …}` line.
 */
async function streamAnswer(res: Response, watched: WatchedJob, route: Route, model: string, startedAt: number): Promise<void> {
  let started = false;
  let sent = 0;
  let name = model;
  const write = (body: unknown) => res.write(`${JSON.stringify(body)}\n`);
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  };
  for await (const event of watched.events) {
    if (event.type === 'started') name = event.target.startsWith('ollama/') ? event.target.slice(7) : event.target;
    if (event.type === 'delta') {
      start();
      sent += event.content.length;
      write(deltaFrame(route, name, event.content));
    }
    if (event.type === 'restart' && started && !(event.continues && event.kept === sent)) {
      write({ error: `the model failed after the stream began (${event.reason}); the partial answer above is incomplete` });
      return void res.end();
    }
    if (event.type === 'done') {
      if (!started) {
        start();
        const whole = (event.result as { content: string }).content;
        if (whole) write(deltaFrame(route, ollamaModelName(event), whole));
      }
      write(doneFrame(route, event, startedAt, ''));
      return void res.end();
    }
    const failure = failureOf(event);
    if (failure) {
      if (!started) return void res.status(httpStatusOf(failure.code)).json(ollamaErrorBody(failure));
      write(ollamaErrorBody(failure));
      return void res.end();
    }
  }
}

async function embed(deps: ApiDeps, req: Request, res: Response, model: string, work: Extract<Work, { kind: 'embedding' }>) {
  const startedAt = performance.now();
  const watched = await submitAndWatch(deps, res, { work, model, ...schedulingFrom(req, 'interactive') });
  try {
    for await (const event of watched.events) {
      if (event.type === 'done') {
        setJobHeaders(res, event.job, event);
        const embeddings = embeddingsForJson(event.result);
        return { model: ollamaModelName(event), embeddings, promptTokens: event.usage.promptTokens, totalNs: Math.round((performance.now() - startedAt) * 1e6) };
      }
      const failure = failureOf(event);
      if (failure) {
        res.status(httpStatusOf(failure.code)).json(ollamaErrorBody(failure));
        return undefined;
      }
    }
    return undefined;
  } finally {
    watched.stop();
  }
}

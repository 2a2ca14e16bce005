import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { ValidationError } from '@mana/errors';
import type { Done, Work } from '@mana/jobs';
import { answeredModel, usageBody } from '@mana/jobs';
import { sendJson } from '../http/json-bytes.js';
import type { ApiDeps } from '../deps.js';
import { schedulingFrom } from '../job-options.js';
import { type WatchedJob, failureOf, sendFailure, setJobHeaders, submitAndWatch } from '../watch-job.js';
import { errorBody } from '../openai/responses.js';

const TOKENS = 'token arrays are not supported, because one request may be served by models with different tokenizers (a GPU model, then its cloud fallback)';
const refused = (why: string) =>
  z
    .unknown()
    .refine((v) => v === undefined || v === null || v === false || v === 1, { error: why })
    .optional();

/** POST /v1/completions, OpenAI's legacy text completions. */
const CompletionRequestSchema = z.object({
  model: z.string().optional(),
  prompt: z.union(
    [
      z.string(),
      z
        .array(z.string(), { error: `expected a string or strings; ${TOKENS}` })
        .min(1)
        .max(16),
    ],
    { error: `expected a string or an array of strings; ${TOKENS}` },
  ),
  suffix: z.string().nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  seed: z.number().int().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().optional(),
  n: refused('n: only n=1 is supported'),
  best_of: refused('best_of: only best_of=1 is supported'),
  echo: refused('echo: echoing the prompt is not supported'),
  logprobs: z
    .unknown()
    .refine((v) => v === undefined || v === null, { error: 'logprobs are not supported yet' })
    .optional(),
});
type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** OpenAI's default when max_tokens is not given. */
const DEFAULT_MAX_TOKENS = 16;

/**
 * Legacy completions over the queue: each prompt is a job whose target
 * continues it as written (Ollama's generate in raw mode; the completions
 * API of the providers that have one), with `suffix` for fill-in-the-middle.
 * Several prompts are several jobs, answered as one list of choices.
 */
export function completionsRouter(deps: ApiDeps): Router {
  const router = Router();
  router.post('/v1/completions', async (req: Request, res: Response) => {
    const body = CompletionRequestSchema.parse(req.body);
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
    if (prompts.length > 1 && body.stream) throw new ValidationError('stream: one prompt at a time when streaming', 'stream');
    const scheduling = schedulingFrom(req, 'interactive');
    const watched: WatchedJob[] = [];
    try {
      for (const prompt of prompts) watched.push(await submitAndWatch(deps, res, { work: workOf(body, prompt), model: body.model, ...scheduling }));
      if (body.stream) await streamAnswer(res, watched[0]!, body.stream_options?.include_usage === true);
      else await jsonAnswer(res, watched);
    } finally {
      for (const w of watched) w.stop();
    }
  });
  return router;
}

function workOf(body: CompletionRequest, prompt: string): Work {
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    kind: 'chat',
    messages: [{ role: 'user', content: prompt }],
    stream: body.stream === true,
    params: {
      completion: body.suffix != null ? { suffix: body.suffix } : {},
      maxTokens: body.max_tokens ?? DEFAULT_MAX_TOKENS,
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...(body.top_p != null ? { topP: body.top_p } : {}),
      ...(stop ? { stop } : {}),
      ...(body.seed != null ? { seed: body.seed } : {}),
    },
  };
}

const completionId = (jobId: string) => `cmpl-${jobId}`;

async function jsonAnswer(res: Response, watched: WatchedJob[]): Promise<void> {
  const done: Done[] = [];
  for (const w of watched) {
    for await (const event of w.events) {
      if (event.type === 'done') {
        done.push(event);
        break;
      }
      const failure = failureOf(event);
      if (failure) return sendFailure(res, w.accepted.id, failure);
    }
  }
  const first = done[0]!;
  setJobHeaders(res, first.job, first);
  const usage = done.reduce((u, d) => ({ promptTokens: u.promptTokens + d.usage.promptTokens, completionTokens: u.completionTokens + d.usage.completionTokens }), {
    promptTokens: 0,
    completionTokens: 0,
  });
  sendJson(res, {
    id: completionId(first.job),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: answeredModel(first),
    choices: done.map((d, index) => ({
      text: (d.result as { content: string }).content,
      index,
      logprobs: null,
      finish_reason: (d.result as { finishReason: string }).finishReason,
    })),
    usage: usageBody({ usage }),
  });
}

async function streamAnswer(res: Response, watched: WatchedJob, includeUsage: boolean): Promise<void> {
  const id = completionId(watched.accepted.id);
  const created = Math.floor(Date.now() / 1000);
  let model = '';
  let started = false;
  let sent = 0;
  const send = (body: unknown) => res.write(`data: ${JSON.stringify(body)}\n\n`);
  const chunk = (text: string, finish: string | null) => ({ id, object: 'text_completion', created, model, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] });
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  };
  setJobHeaders(res, watched.accepted.id);
  for await (const event of watched.events) {
    if (event.type === 'started') model = event.target;
    if (event.type === 'delta') {
      start();
      sent += event.content.length;
      send(chunk(event.content, null));
    }
    if (event.type === 'restart' && started && !(event.continues && event.kept === sent)) {
      send(errorBody({ code: 'provider_unavailable', message: `the model failed after the stream began (${event.reason}); the partial answer above is incomplete` }));
      return void res.end();
    }
    if (event.type === 'done') {
      start();
      model = answeredModel(event);
      send(chunk('', (event.result as { finishReason: string }).finishReason));
      if (includeUsage) send({ ...chunk('', null), choices: [], usage: usageBody(event) });
      res.write('data: [DONE]\n\n');
      return void res.end();
    }
    const failure = failureOf(event);
    if (failure) {
      if (!started) return sendFailure(res, watched.accepted.id, failure);
      send(errorBody(failure));
      return void res.end();
    }
  }
}

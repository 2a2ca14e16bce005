import { type Request, type RequestHandler, type Response, Router } from 'express';
import { estimatePromptTokens } from '@mana/jobs';
import { sendJson } from '../http/json-bytes.js';
import { sendAnthropicFailure, messageBody } from '../anthropic/bodies.js';
import { CountTokensSchema, MessagesRequestSchema } from '../anthropic/schemas.js';
import { MessagesStream } from '../anthropic/stream.js';
import { toChatBody } from '../anthropic/translate.js';
import type { ApiDeps } from '../deps.js';
import { schedulingFrom } from '../job-options.js';
import { inlineImageUrls } from '../openai/image-fetch.js';
import { ChatCompletionRequestSchema } from '../openai/schemas.js';
import { imageFetchOptions, toChatWork } from '../openai/translate.js';
import { type WatchedJob, failureOf, setJobHeaders, submitAndWatch } from '../watch-job.js';

/** Anthropic's clients send their key as `x-api-key`: it is the bearer key Mana's auth reads, so tenants and keys are the same. */
export const anthropicKeyHeader: RequestHandler = (req, _res, next) => {
  const key = req.header('x-api-key');
  if (key && !req.headers.authorization) req.headers.authorization = `Bearer ${key}`;
  next();
};

/**
 * Anthropic's Messages API over the same jobs and routing: the request is
 * the chat it amounts to; the answer comes back as Anthropic's `message`
 * (text and tool_use blocks, stop_reason, usage) or its event stream.
 */
export function anthropicRouter(deps: ApiDeps): Router {
  const router = Router();
  router.post('/v1/messages', async (req: Request, res: Response) => {
    const body = MessagesRequestSchema.parse(req.body);
    const work = toChatWork(await inlineImageUrls(ChatCompletionRequestSchema.parse(toChatBody(body)), imageFetchOptions(deps)));
    const watched = await submitAndWatch(deps, res, { work, model: body.model, ...schedulingFrom(req, 'interactive') });
    try {
      setJobHeaders(res, watched.accepted.id);
      if (work.stream) await streamAnswer(res, watched);
      else await wholeAnswer(res, watched);
    } finally {
      watched.stop();
    }
  });
  router.post('/v1/messages/count_tokens', async (req: Request, res: Response) => {
    const body = CountTokensSchema.parse(req.body);
    const work = toChatWork(ChatCompletionRequestSchema.parse(toChatBody(body)));
    res.json({ input_tokens: estimatePromptTokens(work) });
  });
  return router;
}

async function wholeAnswer(res: Response, watched: WatchedJob): Promise<void> {
  for await (const event of watched.events) {
    if (event.type === 'done') {
      setJobHeaders(res, event.job, event);
      return sendJson(res, messageBody(event));
    }
    const failure = failureOf(event);
    if (failure) return sendAnthropicFailure(res, failure);
  }
}

async function streamAnswer(res: Response, watched: WatchedJob): Promise<void> {
  const stream = new MessagesStream(res, watched.accepted.id);
  let model = '';
  for await (const event of watched.events) {
    if (event.type === 'started') model = event.target;
    if (event.type === 'delta') {
      stream.start(model);
      stream.delta(event.content);
    }
    if (event.type === 'restart' && stream.hasStarted && !(event.continues && event.kept === stream.sent)) {
      return stream.fail({ code: 'provider_unavailable', message: `the model failed after the stream began (${event.reason}); the partial answer is incomplete` });
    }
    if (event.type === 'done') {
      stream.start(`${event.provider}/${event.model}`);
      return stream.finish(event);
    }
    const failure = failureOf(event);
    if (failure) return stream.hasStarted ? stream.fail(failure) : sendAnthropicFailure(res, failure);
  }
}

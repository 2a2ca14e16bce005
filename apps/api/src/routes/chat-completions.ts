import { type Request, type Response, Router } from 'express';
import { cancelJob } from '@mana/jobs';
import { sendJson } from '../http/json-bytes.js';
import type { ApiDeps } from '../deps.js';
import { ChatStream } from '../http/chat-stream.js';
import { schedulingFrom } from '../job-options.js';
import { answeredModel, chatCompletionBody, type ChatResultBody } from '../openai/responses.js';
import { ChatCompletionRequestSchema } from '../openai/schemas.js';
import { imageFetchOptions, toChatWork } from '../openai/translate.js';
import { inlineImageUrls } from '../openai/image-fetch.js';
import { usesLegacyFunctions } from '../openai/legacy-functions.js';
import { type WatchedJob, failureOf, sendFailure, setJobHeaders, submitAndWatch } from '../watch-job.js';

/** POST /v1/chat/completions: OpenAI's chat API over the queue, JSON or SSE. */
export function chatCompletionsRouter(deps: ApiDeps): Router {
  const router = Router();
  router.post('/v1/chat/completions', async (req: Request, res: Response) => {
    const body = await inlineImageUrls(ChatCompletionRequestSchema.parse(req.body), imageFetchOptions(deps));
    const work = toChatWork(body);
    const legacy = usesLegacyFunctions(body);
    const watched = await submitAndWatch(deps, res, { work, model: body.model, ...schedulingFrom(req, 'interactive') });
    try {
      if (work.stream) await streamAnswer(deps, res, watched, body.stream_options?.include_usage === true, legacy);
      else await jsonAnswer(res, watched, legacy);
    } finally {
      watched.stop();
    }
  });
  return router;
}

async function jsonAnswer(res: Response, watched: WatchedJob, legacy: boolean): Promise<void> {
  const { id } = watched.accepted;
  const created = Math.floor(Date.now() / 1000);
  for await (const event of watched.events) {
    if (event.type === 'done') {
      setJobHeaders(res, id, event);
      const body = chatCompletionBody(id, event, created);
      sendJson(res, legacy ? asLegacyFunctionCall(body) : body);
      return;
    }
    const failure = failureOf(event);
    if (failure) return sendFailure(res, id, failure);
  }
}

/**
 * Fallback is invisible while no token has been sent: headers wait for the
 * first token. After it, a failed hop's next target continues the text the
 * client holds (a `restart` that keeps exactly what was sent), so the
 * stream simply goes on. A restart that would drop text the client has (a
 * hop rerun after its worker died) cannot be hidden: the stream ends with
 * an error chunk and the job is cancelled.
 */
/** An answer in the deprecated functions API's form: one `function_call`, finish_reason "function_call". */
function asLegacyFunctionCall(body: ReturnType<typeof chatCompletionBody>) {
  return {
    ...body,
    choices: body.choices.map((c) => {
      const { tool_calls: calls, ...message } = c.message as typeof c.message & { tool_calls?: Array<{ function: { name: string; arguments: string } }> };
      if (!calls?.length) return c;
      return { ...c, message: { ...message, function_call: calls[0]!.function }, finish_reason: 'function_call' };
    }),
  };
}

async function streamAnswer(deps: ApiDeps, res: Response, watched: WatchedJob, includeUsage: boolean, legacy: boolean): Promise<void> {
  const { id } = watched.accepted;
  const stream = new ChatStream(res, id, Math.floor(Date.now() / 1000), includeUsage);
  setJobHeaders(res, id);
  for await (const event of watched.events) {
    switch (event.type) {
      case 'started':
        // A continuing hop starts after the headers went out with the first token.
        if (!res.headersSent) res.setHeader('x-mana-model', event.target);
        break;
      case 'delta':
        stream.start(res.getHeader('x-mana-model')?.toString() ?? '');
        stream.delta(event.content);
        break;
      case 'restart':
        if (!stream.hasStarted || (event.continues && event.kept === stream.sent)) break;
        stream.fail({ code: 'provider_unavailable', message: `the model failed after the stream began (${event.reason}); the partial answer above is incomplete` });
        await cancelJob(deps.pipeline, id);
        return;
      case 'done': {
        const result = event.result as ChatResultBody;
        if (!stream.hasStarted) {
          stream.start(answeredModel(event));
          if (result.content) stream.delta(result.content);
        }
        if (result.toolCalls?.length && legacy) stream.functionCall(result.toolCalls[0]!);
        else if (result.toolCalls?.length) stream.toolCalls(result.toolCalls);
        stream.finish(legacy && result.toolCalls?.length ? 'function_call' : result.finishReason, event.usage, answeredModel(event));
        return;
      }
      case 'error':
      case 'cancelled': {
        const failure = failureOf(event)!;
        if (stream.hasStarted) stream.fail(failure);
        else sendFailure(res, id, failure);
        return;
      }
      default:
        break;
    }
  }
}

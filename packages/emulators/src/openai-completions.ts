import { randomUUID } from 'node:crypto';
import { cutConnection, pause, sendJson } from './http.js';
import type { EmulatedModel } from './models.js';
import { countWords, generate } from './reply.js';
import type { RequestContext } from './server.js';
import { type TimingOptions, generationMs, playTokens } from './timing.js';

export interface CompletionBody {
  model?: string;
  prompt?: string | string[];
  suffix?: string;
  max_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/**
 * POST /v1/completions, OpenAI's legacy text completions as OpenRouter,
 * Together and vLLM serve them: `text_completion` objects, streamed as
 * `choices[].text` chunks. The emulated model continues the prompt with its
 * usual echo (naming the suffix when one is given).
 */
export async function serveCompletion(ctx: RequestContext, body: CompletionBody, model: EmulatedModel, timing: TimingOptions): Promise<void> {
  const prompt = Array.isArray(body.prompt) ? (body.prompt[0] ?? '') : (body.prompt ?? '');
  const gen = generate({ model: model.name, lastUserText: prompt, images: 0, promptWords: countWords(prompt), json: false, suffix: body.suffix }, body.max_tokens ?? 16);
  const id = `cmpl-${randomUUID().slice(0, 12)}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: gen.promptTokens, completion_tokens: gen.tokens.length, total_tokens: gen.promptTokens + gen.tokens.length };
  const base = { id, object: 'text_completion', created, model: model.name };
  if (!body.stream) {
    await pause(generationMs(gen.tokens.length, timing), ctx.signal);
    if (ctx.signal.aborted) return;
    return sendJson(ctx.res, 200, { ...base, choices: [{ text: gen.tokens.join(''), index: 0, logprobs: null, finish_reason: gen.finishReason }], usage });
  }
  const send = (obj: unknown) => ctx.res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
  ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const end = await playTokens(gen.tokens, timing, ctx.signal, ctx.fault, (token) => send({ ...base, choices: [{ text: token, index: 0, logprobs: null, finish_reason: null }] }));
  if (end === 'drop') return cutConnection(ctx.res);
  if (end === 'complete') {
    send({ ...base, choices: [{ text: '', index: 0, logprobs: null, finish_reason: gen.finishReason }] });
    if (body.stream_options?.include_usage) send({ ...base, choices: [], usage });
    send('[DONE]');
  }
  ctx.res.end();
}

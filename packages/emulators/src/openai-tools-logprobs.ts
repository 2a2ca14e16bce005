import { pause, sendJson } from './http.js';
import type { EmulatedModel } from './models.js';
import type { EmulatedCall } from './reply.js';
import type { RequestContext } from './server.js';
import type { TimingOptions } from './timing.js';

/** What the tool-calling answer needs of the request. */
interface ToolsBody {
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/** The model calls tools: OpenAI's tool_calls, streamed as its fragments (id and name first, then the arguments in pieces). */
export async function callTools(
  ctx: RequestContext,
  body: ToolsBody,
  model: EmulatedModel,
  timing: TimingOptions,
  calls: EmulatedCall[],
  meta: { id: string; created: number; usage: object },
) {
  await pause(timing.timeToFirstTokenMs ?? 0, ctx.signal);
  if (ctx.signal.aborted) return;
  const toolCalls = calls.map((c, i) => ({ id: `call_${meta.id.slice(-8)}${i}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } }));
  const base = { id: meta.id, created: meta.created, model: model.name };
  if (!body.stream) {
    const message = { role: 'assistant', content: null, tool_calls: toolCalls, refusal: null };
    return sendJson(ctx.res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, logprobs: null, finish_reason: 'tool_calls' }], usage: meta.usage });
  }
  const send = (delta: object, finish: string | null) =>
    ctx.res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  send({ role: 'assistant', content: null }, null);
  toolCalls.forEach((call, index) => {
    const args = call.function.arguments;
    const half = Math.floor(args.length / 2);
    send({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }, null);
    send({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] }, null);
    send({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, null);
  });
  send({}, 'tool_calls');
  if (body.stream_options?.include_usage) ctx.res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: meta.usage })}\n\n`);
  ctx.res.end('data: [DONE]\n\n');
}

/** OpenAI's logprob entries carry each token's UTF-8 bytes. */
export function withBytes<T extends { token: string; top_logprobs: Array<{ token: string; logprob: number }> }>(entries: T[]) {
  const bytes = (token: string) => [...Buffer.from(token, 'utf8')];
  return entries.map((e) => ({ ...e, bytes: bytes(e.token), top_logprobs: e.top_logprobs.map((t) => ({ ...t, bytes: bytes(t.token) })) }));
}

import type { Response } from 'express';
import type { SerializedError } from '@mana/errors';
import type { Usage } from '@mana/jobs';
import { type ChatResultBody, completionId, errorBody, toolCallsBody } from '../openai/responses.js';

/**
 * OpenAI-compatible chat streaming: `chat.completion.chunk` events, a final
 * chunk with the finish reason, an optional usage chunk, then `[DONE]`. A
 * failure after the first token ends the stream with an error chunk (the
 * openai SDK throws on it).
 */
export class ChatStream {
  private started = false;

  constructor(
    private readonly res: Response,
    private readonly jobId: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {}

  get hasStarted(): boolean {
    return this.started;
  }

  /** Sends the headers and the role chunk; from here on errors can only be chunks. */
  start(model: string): void {
    if (this.started) return;
    this.started = true;
    this.model = model;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.send(this.chunk({ role: 'assistant', content: '' }, null));
  }

  private model = '';
  private sentChars = 0;

  /** How much answer text the client has been sent (JavaScript string length, as the worker counts). */
  get sent(): number {
    return this.sentChars;
  }

  delta(content: string): void {
    this.sentChars += content.length;
    this.send(this.chunk({ content }, null));
  }

  /**
   * The model's tool calls, in OpenAI's streamed shape (`delta.tool_calls`
   * with an `index`). Each comes whole, in one chunk: clients join argument
   * fragments, and one fragment is a valid stream.
   */
  toolCalls(calls: NonNullable<ChatResultBody['toolCalls']>): void {
    toolCallsBody(calls).forEach((call, index) => this.send(this.chunk({ tool_calls: [{ index, ...call }] }, null)));
  }

  /** The deprecated functions API's streamed call: `delta.function_call`, whole. */
  functionCall(call: NonNullable<ChatResultBody['toolCalls']>[number]): void {
    this.send(this.chunk({ function_call: { name: call.name, arguments: call.arguments } }, null));
  }

  finish(finishReason: string, usage: Usage, model: string): void {
    this.model = model;
    this.send(this.chunk({}, finishReason));
    if (this.includeUsage) {
      const total = usage.promptTokens + usage.completionTokens;
      this.send({ ...this.chunk({}, null), choices: [], usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: total } });
    }
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }

  fail(error: Pick<SerializedError, 'code' | 'message'>): void {
    this.send(errorBody(error));
    this.res.end();
  }

  private chunk(delta: object, finishReason: string | null) {
    return {
      id: completionId(this.jobId),
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }

  private send(body: unknown): void {
    this.res.write(`data: ${JSON.stringify(body)}\n\n`);
  }
}

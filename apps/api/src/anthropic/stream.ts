import type { Response } from 'express';
import type { ErrorCode } from '@mana/errors';
import type { ChatResultBody, Done } from '@mana/jobs';
import { anthropicErrorBody, messageId, stopReason, toolUseBlock, usageBody } from './bodies.js';

/**
 * Anthropic's SSE: `message_start`, then per content block
 * `content_block_start`, its deltas (`text_delta`, `input_json_delta`) and
 * `content_block_stop`, then `message_delta` with the stop reason and usage,
 * and `message_stop`. The text block opens with the first delta; tool_use
 * blocks come whole after it.
 */
export class MessagesStream {
  private started = false;
  private textOpen = false;
  private index = 0;
  private sentChars = 0;

  constructor(
    private readonly res: Response,
    private readonly jobId: string,
  ) {}

  get hasStarted(): boolean {
    return this.started;
  }

  get sent(): number {
    return this.sentChars;
  }

  start(model: string): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const message = {
      id: messageId(this.jobId),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    this.send('message_start', { message });
    this.send('ping', {});
  }

  delta(text: string): void {
    if (!this.textOpen) {
      this.textOpen = true;
      this.send('content_block_start', { index: this.index, content_block: { type: 'text', text: '' } });
    }
    this.sentChars += text.length;
    this.send('content_block_delta', { index: this.index, delta: { type: 'text_delta', text } });
  }

  finish(done: Done): void {
    const result = done.result as ChatResultBody;
    if (result.content && !this.textOpen) this.delta(result.content);
    if (this.textOpen) this.send('content_block_stop', { index: this.index++ });
    for (const call of result.toolCalls ?? []) {
      const block = toolUseBlock(call);
      this.send('content_block_start', { index: this.index, content_block: { ...block, input: {} } });
      this.send('content_block_delta', { index: this.index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      this.send('content_block_stop', { index: this.index++ });
    }
    this.send('message_delta', { delta: { stop_reason: stopReason(result), stop_sequence: null }, usage: usageBody(done.usage) });
    this.send('message_stop', {});
    this.res.end();
  }

  /** A failure after the stream began: Anthropic's `error` event, never a message that looks complete. */
  fail(error: { code: ErrorCode; message: string }): void {
    this.send('error', anthropicErrorBody(error));
    this.res.end();
  }

  private send(type: string, payload: object): void {
    this.res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`);
  }
}

import type { Response } from 'express';
import type { ChatResultBody } from '@mana/jobs';
import { functionCallItem, messageItem, outputText, type responseBody } from './body.js';

type Body = ReturnType<typeof responseBody>;

/**
 * The Responses API's SSE: `response.created`, `response.in_progress`, then
 * per output item `output_item.added`, its content part, its deltas, the
 * `.done` events, and `response.completed` (or `.failed` / `.incomplete`)
 * with the whole response. Each event carries its `sequence_number`. The
 * message item opens with the first text delta; function calls come whole
 * (added, one arguments delta, done), after the text.
 */
export class ResponsesStream {
  private sequence = 0;
  private text = '';
  private messageOpen = false;
  private started = false;
  private outputIndex = 0;

  constructor(
    private readonly res: Response,
    private readonly id: string,
    /** A reader resuming a stream (`starting_after`) is sent only the events after this sequence number. */
    private readonly startingAfter = -1,
  ) {}

  get hasStarted(): boolean {
    return this.started;
  }

  /** Characters of answer text sent so far (a continuation must keep exactly these). */
  get sent(): number {
    return this.text.length;
  }

  start(body: Body): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.send('response.created', { response: body });
    this.send('response.in_progress', { response: body });
  }

  delta(content: string): void {
    if (!this.messageOpen) {
      this.messageOpen = true;
      this.send('response.output_item.added', { output_index: this.outputIndex, item: messageItem(this.id, '', 'in_progress') });
      this.send('response.content_part.added', { item_id: this.itemId, output_index: this.outputIndex, content_index: 0, part: outputText('') });
    }
    this.text += content;
    this.send('response.output_text.delta', { item_id: this.itemId, output_index: this.outputIndex, content_index: 0, delta: content, logprobs: [] });
  }

  /** Ends the stream with the finished response; `result` gives the text not streamed and the function calls. */
  finish(body: Body, result: ChatResultBody | undefined): void {
    if (result?.content && !this.messageOpen) this.delta(result.content);
    if (this.messageOpen) {
      const at = { item_id: this.itemId, output_index: this.outputIndex, content_index: 0 };
      this.send('response.output_text.done', { ...at, text: this.text, logprobs: [] });
      this.send('response.content_part.done', { ...at, part: outputText(this.text) });
      this.send('response.output_item.done', { output_index: this.outputIndex, item: messageItem(this.id, this.text) });
      this.outputIndex++;
    }
    for (const [i, call] of (result?.toolCalls ?? []).entries()) {
      const item = functionCallItem(this.id, i, call);
      this.send('response.output_item.added', { output_index: this.outputIndex, item: functionCallItem(this.id, i, call, 'in_progress') });
      this.send('response.function_call_arguments.delta', { item_id: item.id, output_index: this.outputIndex, delta: call.arguments });
      this.send('response.function_call_arguments.done', { item_id: item.id, output_index: this.outputIndex, arguments: call.arguments });
      this.send('response.output_item.done', { output_index: this.outputIndex, item });
      this.outputIndex++;
    }
    this.send(body.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: body });
    this.res.end();
  }

  /** A failure after the stream began: `response.failed` with the error, never a response that looks complete. */
  fail(body: Body): void {
    this.send('response.failed', { response: body });
    this.res.end();
  }

  private get itemId(): string {
    return messageItem(this.id, '').id;
  }

  private send(type: string, payload: object): void {
    if (this.sequence <= this.startingAfter) {
      this.sequence++;
      return;
    }
    this.res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...payload })}\n\n`);
  }
}

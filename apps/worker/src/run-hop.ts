import { type Job, UnrecoverableError } from 'bullmq';
import { CancelledError, ManaError, ProviderError } from '@mana/errors';
import { isLocalProvider } from '@mana/config';
import {
  type HopPayload,
  HopPayloadSchema,
  type Pipeline,
  type RouteOutcome,
  type StartOutcome,
  type Success,
  isStoreAwayOrFull,
  isStoreFull,
  jobCost,
  packEmbeddings,
  routeFailure,
  untilStored,
} from '@mana/jobs';
import type { Logger } from '@mana/logging';
import type { ChatResult, ProviderAdapter } from '@mana/providers';
import type { RunningJobs } from './running-jobs.js';

/**
 * How long a hop read whole may run before it is marked running in its record. Short: a
 * watcher of the job API sees `queued` for that long; an answer within it saves a script.
 */
const MARK_DUE_MS = 20;

export interface HopRunnerOptions {
  pipeline: Pipeline;
  adapter: ProviderAdapter;
  /** Names the endpoint in the record and logs, e.g. `ollama:gpu0`. */
  endpoint: string;
  timeoutMs: number;
  /** For a streamed hop: how long the first token may take, and the longest quiet between chunks. */
  stream: { firstTokenMs: number; idleMs: number };
  running: RunningJobs;
  log: Logger;
  /** Health and timing bookkeeping after each provider call: how long it took, and how much of that was a model load. */
  onSuccess?(durationMs: number, payload: HopPayload, loadMs: number): void;
  /** Health bookkeeping after a provider's failure (GPU down, cloud breaker and throttle). */
  onProviderError?(err: ProviderError): Promise<void>;
}

export type HopOutcome = 'succeeded' | 'cancelled' | 'skipped' | RouteOutcome;

/**
 * The BullMQ processor for one hop: mark it running, call the provider
 * (publishing deltas as they come), write the result, or reroute on failure.
 */
export function createHopProcessor(options: HopRunnerOptions) {
  // `providerDone` is called once the provider has answered or failed, before the record is
  // written: the GPU's slot is free from then on, while the bookkeeping finishes.
  return async (job: Job, providerDone?: () => void): Promise<HopOutcome> => {
    const parsed = HopPayloadSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid hop payload: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    const payload = parsed.data;
    const { records } = options.pipeline;
    const controller = options.running.start(payload.jobId);
    const startedAtMs = Date.now();
    // The provider call starts before Redis marks the hop running: one round trip less between
    // two generations on a GPU. Redis runs the mark before any delta or result of this hop
    // (same connection, in order); a hop that turns out stale or finished is aborted unused.
    let marked: Promise<StartOutcome> | undefined;
    const mark = (): Promise<StartOutcome> => {
      marked ??= untilStored(() => records.startHop(payload.jobId, payload.hop, options.endpoint, payload.target.id, startedAtMs)).then(
        (outcome) => {
          if (outcome !== 'ok' && outcome !== 'restart') controller.abort();
          return outcome;
        },
        (err: unknown) => {
          controller.abort();
          throw err;
        },
      );
      // Awaited below, after the provider call; until then its failure must not count as unhandled.
      marked.catch(() => {});
      return marked;
    };
    // A hop whose answer is read whole shows nothing while it runs, so its mark may wait: one that
    // answers within MARK_DUE_MS is marked as it finishes, in the same script (a Redis script
    // less per hop). One streamed to its client is marked at once: its deltas need it.
    const streamedToClient = payload.work.kind === 'chat' && payload.work.stream === true;
    const markDue = streamedToClient ? undefined : setTimeout(mark, MARK_DUE_MS);
    if (streamedToClient) void mark();
    // A started hop can no longer spill: its entry leaves the index (within moments, with others),
    // or is never written if still pending in this process, so the spill pass spends nothing on it.
    if (isLocalProvider(payload.target.provider)) options.pipeline.spillIndex.started(payload.target.model, job.id ?? '');
    // Marks the hop now if its mark was not due yet (a timer left to fire later finds it made).
    const proceed = async () => ['ok', 'restart'].includes(await mark());
    const startedAt = performance.now();
    const streamed = new StreamedText(payload.continuation?.text);
    try {
      const attributes = { 'mana.job_id': payload.jobId, 'mana.hop': payload.hop, 'mana.target': payload.target.id, 'mana.endpoint': options.endpoint };
      const call = options.pipeline.tracing.span('mana.provider_call', attributes, () => callProvider(options, payload, controller.signal, streamed));
      void call.then(
        () => providerDone?.(),
        () => providerDone?.(),
      );
      const { success, loadMs } = await call;
      const heldMs = performance.now() - startedAt;
      clearTimeout(markDue);
      // Not marked yet: marked and finished in one step below, which checks what the mark would have.
      const unmarked = marked === undefined ? { at: startedAtMs, endpoint: options.endpoint, target: payload.target.id } : undefined;
      if (!unmarked && !(await proceed())) return 'skipped';
      options.onSuccess?.(heldMs, payload, loadMs);
      const costed: Success = { ...success, cost: jobCost(options.pipeline.prices.current(), payload.target, payload.chain, success.usage, heldMs) };
      // The provider answered: a store that is away now is waited for, never blamed on the job.
      const finished = await untilStored(() => records.succeed(payload.jobId, payload.hop, costed, Date.now(), unmarked), { onRetry: storeRetryLog(options, payload) });
      return finished || !unmarked ? 'succeeded' : 'skipped';
    } catch (err) {
      // Redis stayed away (or full) past the retry deadline: not the provider's failure, so no
      // reroute. BullMQ cannot record the hop's end either; its lock lapses and the stall check
      // runs it again. (A provider's own connection errors arrive as ProviderErrors and reroute.)
      if (!(err instanceof ManaError) && isStoreAwayOrFull(err)) throw err;
      // Cancelled before its mark was due: nothing to mark (the record says cancelled already).
      if (marked === undefined && err instanceof CancelledError && controller.signal.aborted) return 'cancelled';
      if (!(await proceed())) return 'skipped';
      if (err instanceof CancelledError && controller.signal.aborted) return 'cancelled';
      if (err instanceof ProviderError) await options.onProviderError?.(err);
      const { outcome } = await routeFailure(options.pipeline, payload, err, payload.work.kind === 'chat' && payload.work.stream ? await streamed.text() : undefined);
      options.log.warn({ jobId: payload.jobId, hop: payload.hop, target: payload.target.id, endpoint: options.endpoint, code: (err as ProviderError).code, outcome }, 'hop failed');
      // Failed in BullMQ too, so the board shows the provider's error on this hop.
      throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(markDue);
      options.running.finish(payload.jobId, controller);
    }
  };
}

function storeRetryLog(options: HopRunnerOptions, payload: HopPayload) {
  return (err: Error, attempt: number) => {
    if (attempt !== 1) return;
    const why = isStoreFull(err) ? 'Redis is full (maxmemory); holding the result until it has room' : 'Redis unavailable; holding the result until it is back';
    options.log.warn({ jobId: payload.jobId, hop: payload.hop, err: err.message }, why);
  };
}

/**
 * The answer readers hold so far: the text this hop continues, then each
 * delta the record accepted (a delta published after the job moved on
 * reached nobody). Read once the hop has failed, to hand the next target.
 */
class StreamedText {
  private readonly pieces: Array<{ content: string; published: Promise<boolean> }> = [];

  constructor(readonly prefix = '') {}

  add(content: string, published: Promise<boolean>): void {
    this.pieces.push({ content, published });
  }

  async text(): Promise<string> {
    const outcomes = await Promise.allSettled(this.pieces.map((p) => p.published));
    return (
      this.prefix +
      this.pieces
        .filter((_, i) => outcomes[i]?.status === 'fulfilled' && outcomes[i].value)
        .map((p) => p.content)
        .join('')
    );
  }

  /** Every delta, awaited: a store failure meanwhile fails the hop's write as before. */
  async published(): Promise<void> {
    await Promise.all(this.pieces.map((p) => p.published));
  }
}

async function callProvider(options: HopRunnerOptions, payload: HopPayload, signal: AbortSignal, streamed: StreamedText): Promise<{ success: Success; loadMs: number }> {
  const { adapter } = options;
  const call = { signal, timeoutMs: options.timeoutMs };
  const { work, target } = payload;
  if (work.kind === 'embedding') {
    const result = await adapter.embed({ model: target.model, input: work.input, dimensions: work.dimensions }, call);
    const success = {
      result: packEmbeddings(result.embeddings),
      usage: { promptTokens: result.usage.promptTokens, completionTokens: 0 },
      model: result.model,
      provider: target.provider,
    };
    return { success, loadMs: result.loadMs ?? 0 };
  }
  // A continuation: the answer so far goes as a final assistant message, which the target carries on from.
  const messages = payload.continuation ? [...work.messages, { role: 'assistant' as const, content: payload.continuation.text }] : work.messages;
  const request = { model: target.model, messages, params: work.params };
  const streamCall = { ...call, firstTokenMs: options.stream.firstTokenMs, idleMs: options.stream.idleMs };
  // A cloud answer the client wants whole is still read as a stream, so the first-token and
  // idle deadlines catch an upstream that never answers; a GPU's is read whole (the cheaper
  // call, on the hot path), its hangs caught by the hop deadline and the health probe.
  const readWhole = !work.stream && isLocalProvider(target.provider);
  if (readWhole) return chatSuccess(await adapter.chat(request, call), payload, streamed.prefix);
  // Deltas are sent without waiting for each: one connection keeps them in order.
  for await (const event of adapter.chatStream(request, streamCall)) {
    if (event.type === 'delta') {
      if (!work.stream) continue;
      const delta = options.pipeline.records.delta(payload.jobId, payload.hop, event.content);
      delta.catch(() => {}); // awaited together at the end; a failure meanwhile is not unhandled
      streamed.add(event.content, delta);
      continue;
    }
    await streamed.published();
    return chatSuccess(event.result, payload, streamed.prefix);
  }
  throw new ProviderError('provider_unavailable', `${target.id} ended its stream without a result`, { provider: target.provider, target: target.id });
}

/** A chat hop's answer as the job keeps it. The client's text is the earlier hops' answer and this one's continuation: so is the job's result. */
function chatSuccess(result: ChatResult, payload: HopPayload, prefix: string): { success: Success; loadMs: number } {
  const params = payload.work.kind === 'chat' ? payload.work.params : {};
  // parallel_tool_calls: false — providers that cannot be told so (Ollama, Gemini) are held to it here.
  const toolCalls = params.parallelToolCalls === false ? result.toolCalls?.slice(0, 1) : result.toolCalls;
  const body = {
    content: prefix + result.content,
    finishReason: result.finishReason,
    ...(toolCalls?.length ? { toolCalls } : {}),
    ...(result.logprobs?.length ? { logprobs: result.logprobs } : {}),
  };
  return { success: { result: body, usage: result.usage, model: result.model, provider: payload.target.provider }, loadMs: result.loadMs ?? 0 };
}

import { type Attributes, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Telemetry } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';

/**
 * Tracing for one process. With no OTLP endpoint configured it costs
 * nothing: `bullmq` is undefined (BullMQ then creates no spans) and `span`
 * just runs its function.
 */
export interface Tracing {
  enabled: boolean;
  /** Given to every BullMQ Queue and Worker: a job carries its producer's trace context to the worker. */
  bullmq: Telemetry | undefined;
  /** Runs `fn` inside a span (the active one while it runs); a throw marks the span as an error. */
  span<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T>;
  /** Flushes and stops (the process is ending). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** OTLP/HTTP base URL (traces go to `<endpoint>/v1/traces`); undefined turns tracing off. */
  endpoint: string | undefined;
  serviceName: string;
  /** How often finished spans are sent. @defaultValue 1000 */
  flushMs?: number;
}

const TRACER = 'mana';

/** One tracer provider per process, shared by everything that starts tracing in it (the gateway runs API and workers together). */
let shared: { provider: NodeTracerProvider; users: number } | undefined;

export function startTracing(options: TracingOptions): Tracing {
  if (!options.endpoint) return { enabled: false, bullmq: undefined, span: (_name, _attributes, fn) => fn(), shutdown: async () => {} };
  if (!shared) {
    const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.flushMs ?? 1_000 })],
    });
    // Registers the async-hooks context manager too, so the active span follows awaits.
    provider.register();
    shared = { provider, users: 0 };
  }
  shared.users++;
  const tracer = trace.getTracer(TRACER);
  let stopped = false;
  return {
    enabled: true,
    bullmq: new BullMQOtel({ tracerName: TRACER }),
    span: (name, attributes, fn) =>
      tracer.startActiveSpan(name, { attributes }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          span.recordException(err instanceof Error ? err : String(err));
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          throw err;
        } finally {
          span.end();
        }
      }),
    async shutdown() {
      if (stopped || !shared) return;
      stopped = true;
      await shared.provider.forceFlush();
      if (--shared.users > 0) return;
      const { provider } = shared;
      shared = undefined;
      trace.disable();
      await provider.shutdown();
    },
  };
}

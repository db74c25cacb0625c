import type { IncomingHttpHeaders } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';

/**
 * OpenTelemetry tracing through @opentelemetry/api only. Rapport registers no
 * SDK: without one (the default) every call here is a no-op, so tracing is off
 * unless the deployment registers an SDK and exporter before Rapport starts
 * (docs/operations.md, "Tracing"). With one, a request's span carries on into
 * the jobs it enqueues: the W3C trace context travels in the job's data under
 * {@link TRACE_CONTEXT_KEY}, and the worker's span joins the request's trace.
 */
const tracer = trace.getTracer('rapport');

/** Where a job's data carries the trace context of the code that enqueued it. */
export const TRACE_CONTEXT_KEY = '_trace';

/** W3C trace-context fields (`traceparent`, `tracestate`) as propagated. */
export type TraceCarrier = Record<string, string>;

/**
 * The data of a job to enqueue, with the active trace context added; the
 * same object when there is none (no SDK, or no span in progress).
 */
export function withTraceContext<T>(data: T): T {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) return data;
  return { ...data, [TRACE_CONTEXT_KEY]: carrier };
}

/** The trace context a job's data carries (root when none). */
function jobParentContext(data: unknown): Context {
  const carrier = data && typeof data === 'object' ? (data as Record<string, unknown>)[TRACE_CONTEXT_KEY] : undefined;
  if (!carrier || typeof carrier !== 'object') return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier as TraceCarrier);
}

/** Runs `fn` inside a span, ending it with the outcome (an error is recorded and rethrown). */
async function inSpan<T>(span: Span, parent: Context, fn: () => Promise<T>): Promise<T> {
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Runs a job's handler in a span that continues the trace of whoever enqueued it. */
export function inJobSpan<T>(queue: string, job: { id?: string; name: string; data: unknown; attemptsMade: number }, fn: () => Promise<T>): Promise<T> {
  const parent = jobParentContext(job.data);
  const span = tracer.startSpan(
    `job ${job.name}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'bullmq',
        'messaging.destination.name': queue,
        'messaging.message.id': job.id ?? '',
        'rapport.job.attempt': job.attemptsMade + 1,
      },
    },
    parent,
  );
  return inSpan(span, parent, fn);
}

/**
 * Runs an HTTP request's handling in a server span, continuing the caller's
 * trace when it sent a `traceparent` header.
 */
export function inRequestSpan<T>(headers: IncomingHttpHeaders, method: string, route: string, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer.startSpan(`${method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } }, parent);
  return inSpan(span, parent, () => fn(span));
}

/** The active span, to name or annotate (a no-op span when tracing is off). */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/** Log fields of the active span: pino adds them to every line written inside a traced request or job. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!trace.isSpanContextValid({ traceId, spanId, traceFlags })) return {};
  return { trace_id: traceId, span_id: spanId };
}

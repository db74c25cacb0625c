import pino, { type Logger } from 'pino';
import { traceLogFields } from './tracing';

export type { Logger };

/**
 * Structured JSON logs on stdout; one logger per process, children per
 * component. A line written inside a traced request or job carries its
 * `trace_id` and `span_id` (only when an OpenTelemetry SDK is registered).
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'rapport', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
    mixin: traceLogFields,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Errors are logged without the bind parameters of failed queries (TypeORM puts
 * them on the error): they hold customer data and can be megabytes long.
 */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    // Some libraries emit plain objects (a queue backend's { error } event); say what they hold, not "[object Object]".
    if (error === null || typeof error !== 'object') return { message: String(error) };
    const fields = error as Record<string, unknown>;
    const inner = [fields.error, fields.err, fields.cause].find((value) => value instanceof Error);
    if (inner) return serializeError(inner);
    let text: string;
    try {
      text = JSON.stringify(error).slice(0, 500);
    } catch {
      text = Object.prototype.toString.call(error);
    }
    return { message: typeof fields.message === 'string' ? fields.message : text, code: typeof fields.code === 'string' ? fields.code : undefined };
  }
  const { type, message, stack } = pino.stdSerializers.err(error);
  const e = error as Error & { code?: string; query?: string; driverError?: { code?: string; detail?: string; where?: string } };
  return {
    type,
    message,
    stack,
    code: e.code ?? e.driverError?.code,
    query: typeof e.query === 'string' ? e.query.slice(0, 500) : undefined,
    where: e.driverError?.where,
  };
}

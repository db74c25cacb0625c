import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one logger per process, children per component. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'rapport', ...base }, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: serializeError } });
}

/**
 * Errors are logged without the bind parameters of failed queries (TypeORM puts
 * them on the error): they hold customer data and can be megabytes long.
 */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
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

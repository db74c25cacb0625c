/**
 * Recognises the errors of a dependency that is away (Postgres restarting,
 * Redis stopped, a queue that does not answer in time) as opposed to a bug,
 * so the gateway can answer them with 503 SERVICE_UNAVAILABLE and a
 * Retry-After instead of a masked 500: the client did nothing wrong and the
 * same request will work once the dependency is back.
 */

/** Which dependency an outage is of, as the answer names it. */
export type Dependency = 'database' | 'queue';

/** Seconds a client is told to wait before retrying during an outage: long enough for a restart, short enough not to idle. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/** A dependency that did not answer in time (an enqueue bounded by `withTimeout`). */
export class DependencyTimeoutError extends Error {
  constructor(
    readonly dependency: Dependency,
    message: string,
  ) {
    super(message);
    this.name = 'DependencyTimeoutError';
  }
}

/** SQLSTATEs of a server that is shutting down, starting or unreachable (class 08: connection exception). */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '08007']);

/** Socket-level codes of a peer that is not there (or went away). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN', 'EAI_AGAIN']);

/** What node-postgres and the pool say when the server went away under them or cannot be reached. */
const PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'the database system is starting up',
  'the database system is shutting down',
  'the database system is in recovery mode',
  'terminating connection due to administrator command',
];

/** What ioredis says when Redis is away (an offline queue refused, retries used up, a closed connection). */
const REDIS_MESSAGES = ["Stream isn't writeable", 'Connection is closed', 'Reached the max retries per request limit', 'enableOfflineQueue'];

/** The causes an error wraps: TypeORM's `driverError`, `cause`, GraphQL's `originalError`. */
function chain(error: unknown): unknown[] {
  const seen: unknown[] = [];
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.includes(current) && seen.length < 8) {
    seen.push(current);
    const e = current as { driverError?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown[] };
    current = e.driverError ?? e.originalError ?? e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
  }
  return seen;
}

/** The dependency `error` says is away, or undefined when it is any other failure. */
export function outageOf(error: unknown): Dependency | undefined {
  for (const link of chain(error)) {
    if (link instanceof DependencyTimeoutError) return link.dependency;
    const e = link as { code?: unknown; message?: unknown; name?: unknown };
    const message = typeof e.message === 'string' ? e.message : '';
    const code = typeof e.code === 'string' ? e.code : '';
    if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((m) => message.includes(m))) return 'queue';
    if (PG_UNAVAILABLE_STATES.has(code) || PG_MESSAGES.some((m) => message.includes(m))) return 'database';
    if (SOCKET_CODES.has(code)) return /redis|6379/i.test(message) ? 'queue' : 'database';
  }
  return undefined;
}

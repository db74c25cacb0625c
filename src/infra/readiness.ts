import type { DataSource } from 'typeorm';
import { withTimeout } from './jobs';
import { dirtyBacklog } from './metrics';
import type { QueueBackend } from './queue';

/** What `/readyz` answers: 200 when ready, 503 otherwise, with each dependency's state. */
export interface ReadinessReport {
  status: 'ready' | 'not ready' | 'draining';
  /** `ok`, or why the dependency did not answer. */
  checks: { database: string; queue: string };
  /** Which queue backend the process uses (`redis` or `postgres`). */
  queueBackend: string;
  /** Dirty customers and the age of the oldest mark; null when the database did not answer. */
  dirtyBacklog: { count: number; oldestAgeSeconds: number } | null;
}

/**
 * The readiness of one process. `draining` is checked first: once set (at the
 * start of shutdown) `/readyz` answers 503 at once, without asking any
 * dependency, so a load balancer stops sending new requests while running ones
 * finish. Everything `/readyz` says is decided here.
 */
export class Readiness {
  private drainingSince: Date | undefined;

  constructor(private readonly deps: { dataSource: DataSource; queues: QueueBackend }) {}

  /** Marks the process as shutting down: readiness fails from now on. */
  drain(): void {
    this.drainingSince ??= new Date();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** The HTTP status and JSON body of `/readyz`. A dependency that does not answer within `timeoutMs` counts as down. */
  async check(timeoutMs = 2_000): Promise<[number, ReadinessReport]> {
    const queueBackend = this.deps.queues.kind;
    if (this.drainingSince) {
      return [503, { status: 'draining', checks: { database: 'not checked: draining', queue: 'not checked: draining' }, queueBackend, dirtyBacklog: null }];
    }
    const [database, queue, backlog] = await Promise.all([
      settle(this.deps.dataSource.query('SELECT 1'), timeoutMs),
      settle(this.deps.queues.ping(), timeoutMs),
      withTimeout(dirtyBacklog(this.deps.dataSource), timeoutMs, 'dirty backlog').catch(() => null),
    ]);
    const ready = database === 'ok' && queue === 'ok';
    return [ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: { database, queue }, queueBackend, dirtyBacklog: backlog }];
  }
}

/** `ok` when `promise` resolves within `ms`, else the reason. */
async function settle(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

const byProcess = new WeakMap<object, Readiness>();

/**
 * The readiness of the process whose services these are (one per runtime):
 * the gateway's `/readyz`, the metrics listener's and shutdown share it.
 */
export function readinessOf(services: { dataSource: DataSource; queues: QueueBackend }): Readiness {
  let readiness = byProcess.get(services);
  if (!readiness) {
    readiness = new Readiness(services);
    byProcess.set(services, readiness);
  }
  return readiness;
}

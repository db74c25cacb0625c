import type { DataSource } from 'typeorm';
import { CONNECTOR_ERROR_CODES, type EmitResult, type JsonObject } from '@rapport/connector-kit';
import { ErrorCode } from '../../errors/catalog';
import type { Logger } from '../../infra/logger';
import type { WireError } from '../../plugin-host/protocol';
import { commitBatch, type IngestTargets } from './batch-commit';
import type { ConnectionService } from './connection.service';
import type { ConnectorRegistry } from './connector-registry';
import type { RunStatus } from './connector-run.service';
import type { ConnectorRunService } from './connector-run.service';
import { PluginCallError, type HostRequest, type PluginHostProcess, type PluginHosts } from './plugin-hosts';

/** Options of {@link SyncService}. */
export interface SyncServiceOptions {
  /** A run's host is killed after this long. */
  timeLimitMs: number;
  /** Deadline of one page: the time the plugin has control between two emits or checkpoints; its host is killed past it. */
  pageTimeoutMs: number;
  /** Pages one run fetches at most while the plugin says `hasMore`; the next run continues. @defaultValue 1000 */
  maxPagesPerRun?: number;
}

/** What one sync run ended with. */
export interface SyncOutcome {
  runId: string;
  status: RunStatus;
  pages: number;
  error?: string;
  /** When the source asked to wait before the next run (rate limit). */
  retryAfterMs?: number;
}

/**
 * Runs pull syncs. Each run's plugin code executes in a plugin host of its own
 * (a sandboxed process; see plugin-sandbox.ts): batches come back over its
 * channel and are validated and committed here through the ingest service; the
 * cursor is saved only after every batch before it is committed. A page past
 * its deadline or a run past the time limit kills the host; a crash, a hang or
 * a thrown error fails the run and nothing else. One run per connection at a
 * time (a Postgres advisory lock, so this holds across workers).
 */
export class SyncService {
  private readonly hostsByRun = new Map<string, PluginHostProcess>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ConnectorRegistry,
    private readonly connections: ConnectionService,
    private readonly runs: ConnectorRunService,
    private readonly targets: IngestTargets,
    private readonly hosts: PluginHosts,
    private readonly logger: Logger,
    private readonly options: SyncServiceOptions,
  ) {}

  /** Runs one sync of a connection; `runId` is the QUEUED run `runConnection` created, if any. */
  async run(connectionId: string, runId?: string): Promise<SyncOutcome | undefined> {
    const connection = await this.connections.get(connectionId);
    if (!connection) {
      if (runId) await this.runs.finish(runId, 'FAILED', `connection ${connectionId} no longer exists`);
      return undefined;
    }
    if (!runId && connection.status !== 'ACTIVE') {
      // A scheduled run of a paused connection, or one that needs new credentials: wait for the user.
      this.logger.info({ connectionId, status: connection.status }, 'scheduled sync skipped: the connection is not active');
      return undefined;
    }
    const lock = this.dataSource.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }] = await lock.query(`SELECT pg_try_advisory_lock(hashtextextended('rapport.connection.sync.' || $1, 0)) AS locked`, [connectionId]);
      if (!locked) {
        if (runId) await this.runs.finish(runId, 'FAILED', 'skipped: another run of this connection is in progress');
        this.logger.info({ connectionId }, 'sync skipped: another run of this connection is in progress');
        return undefined;
      }
      try {
        return await this.runLocked(connectionId, runId);
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(hashtextextended('rapport.connection.sync.' || $1, 0))`, [connectionId]);
      }
    } finally {
      await lock.release();
    }
  }

  /** The process id of the plugin host a run executes in, while it runs. */
  hostPid(runId: string): number | undefined {
    return this.hostsByRun.get(runId)?.pid;
  }

  private async runLocked(connectionId: string, queuedRunId: string | undefined): Promise<SyncOutcome> {
    const connection = await this.connections.get(connectionId);
    if (!connection) throw new Error(`connection ${connectionId} does not exist`);
    const runId = queuedRunId ?? (await this.runs.start('SYNC', connectionId));
    if (queuedRunId) await this.runs.setStatus(runId, 'RUNNING');
    const log = this.logger.child({ connectionId, runId, connector: connection.connector });

    let available: ReturnType<ConnectorRegistry['require']>;
    let config: Record<string, unknown>;
    try {
      available = this.registry.require(connection.connector);
      if (!available.manifest.sync) throw new Error(`connector "${connection.connector}" has no sync (push only)`);
      config = this.connections.decryptedConfig(connection, available.manifest);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.runs.finish(runId, 'FAILED', message);
      await this.connections.recordRunEnd(connectionId, {});
      return { runId, status: 'FAILED', pages: 0, error: message };
    }

    const scope = this.connections.ingestScope(connection);
    let pages = 0;
    let ended: { status: RunStatus; error?: string; failure?: WireError } | undefined;
    let host: PluginHostProcess;
    try {
      host = this.hosts.dedicated(available.plugin);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.runs.finish(runId, 'FAILED', message);
      await this.connections.recordRunEnd(connectionId, {});
      return { runId, status: 'FAILED', pages: 0, error: message };
    }
    this.hostsByRun.set(runId, host);
    const timer = setTimeout(() => {
      ended ??= { status: 'FAILED', error: `${ErrorCode.PLUGIN_TIMEOUT}: time limit of ${this.options.timeLimitMs} ms exceeded; the plugin host was killed` };
      host.kill();
    }, this.options.timeLimitMs);

    const onRequest = async (request: HostRequest): Promise<EmitResult | undefined> => {
      if (ended) throw new Error('the run has ended');
      if (request.op === 'emit') {
        try {
          const counts = await commitBatch(this.targets, request.batch, scope.source, 'PER_ROW', scope);
          await this.runs.addCounts(runId, counts);
          return {
            accepted: counts.accepted,
            duplicates: counts.duplicates,
            rejected: counts.rejected,
            errors: counts.errors.map((e) => ({ path: e.path ?? '', segments: [], code: e.code, message: e.message })),
          };
        } catch (error) {
          log.error({ err: error }, 'could not commit a batch');
          ended ??= { status: 'FAILED', error: `could not commit a batch: ${error instanceof Error ? error.message : String(error)}` };
          host.kill();
          throw error;
        }
      }
      // Every emit before this checkpoint was committed: the host waits for each answer before it goes on.
      await this.connections.saveState(connectionId, request.state);
      pages++;
      await this.runs.setStatus(runId, 'RUNNING', { pages });
      return undefined;
    };

    try {
      await host.call(
        { op: 'sync', config, state: (connection.state as JsonObject | null) ?? null, maxPages: this.options.maxPagesPerRun ?? 1000 },
        {
          deadlineMs: Math.min(this.options.pageTimeoutMs, this.options.timeLimitMs),
          onRequest,
          onLog: (line) => log[line.level]({ plugin: line.fields ?? {} }, line.message),
        },
      );
      ended ??= { status: 'SUCCEEDED' };
    } catch (error) {
      if (!(error instanceof PluginCallError)) ended ??= { status: 'FAILED', error: error instanceof Error ? error.message : String(error) };
      else if (error.kind === 'plugin' && error.wire) ended ??= classify(error.wire);
      else if (error.kind === 'deadline')
        ended ??= {
          status: 'FAILED',
          error: `${ErrorCode.PLUGIN_TIMEOUT}: a sync page took longer than ${Math.min(this.options.pageTimeoutMs, this.options.timeLimitMs)} ms; the plugin host was killed`,
        };
      else ended ??= { status: 'FAILED', error: `${error.kind === 'crashed' ? ErrorCode.PLUGIN_CRASHED : ErrorCode.CONNECTOR_UNAVAILABLE}: ${error.message}` };
    } finally {
      clearTimeout(timer);
      host.kill();
      await host.exited;
      this.hostsByRun.delete(runId);
    }

    const needsAttention =
      ended.failure && (ended.failure.code === CONNECTOR_ERROR_CODES.AUTHENTICATION || ended.failure.code === CONNECTOR_ERROR_CODES.CONFIG)
        ? ended.error
        : undefined;
    await this.runs.finish(runId, ended.status, ended.error ?? null, {
      pages,
      ...(ended.failure?.retryAfterMs !== undefined ? { retryAfterMs: ended.failure.retryAfterMs } : {}),
    });
    await this.connections.recordRunEnd(connectionId, { needsAttention, ...(ended.status === 'SUCCEEDED' ? { succeededRunId: runId } : {}) });
    if (ended.status === 'FAILED') log.warn({ error: ended.error }, 'sync run failed');
    return { runId, status: ended.status, pages, error: ended.error, retryAfterMs: ended.failure?.retryAfterMs };
  }
}

/** Rate limits and transient failures end a run early as a partial success; the next run resumes from the saved cursor. */
function classify(failure: WireError): { status: RunStatus; error: string; failure: WireError } {
  const label = failure.code ? `${failure.code}: ${failure.message}` : `${failure.name}: ${failure.message}`;
  return { status: failure.retryable ? 'PARTIAL' : 'FAILED', error: label, failure };
}

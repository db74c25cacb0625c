import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataSource } from 'typeorm';
import { CONNECTOR_ERROR_CODES, type EgressPolicy, type EmitResult, type JsonObject } from '../../connector-kit';
import type { Logger } from '../../infra/logger';
import { commitBatch, type IngestTargets } from './batch-commit';
import type { ConnectionService } from './connection.service';
import type { ConnectorRegistry } from './connector-registry';
import type { RunStatus } from './connector-run.entity';
import type { ConnectorRunService } from './connector-run.service';
import type { ChildMessage, HostMessage, SyncFailure } from './sync-protocol';

/** Options of {@link SyncService}. */
export interface SyncServiceOptions {
  /** A run's process is killed after this long. */
  timeLimitMs: number;
  /** Pages one run fetches at most while the plugin says `hasMore`; the next run continues. @defaultValue 1000 */
  maxPagesPerRun?: number;
  /** What the plugin's HTTP client may reach (RAPPORT_CONNECTOR_ALLOWED_HOSTS). @defaultValue public addresses only */
  egress?: EgressPolicy;
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

/** The interaction `source` a connection's records are stored under. */
export function connectionSource(connectionId: string): string {
  return `connector:${connectionId}`;
}

const RUNNER = path.join(__dirname, `sync-runner${path.extname(__filename)}`);

/** Node flags for the runner: TypeScript sources (the runner under tsx or Jest, or a plugin shipped as .ts) load through tsx's loader. */
function runnerExecArgv(entry: string): string[] {
  if (!RUNNER.endsWith('.ts') && !/\.[cm]?ts$/.test(entry)) return [];
  return ['--import', pathToFileURL(require.resolve('tsx')).href];
}

/**
 * Runs pull syncs. Each run's plugin code executes in its own child process
 * (sync-runner.ts): batches come back over IPC and are committed here through
 * the ingest service; the cursor is saved only after every batch before it is
 * committed. A run that exceeds the time limit is killed; a crash, a hang or a
 * thrown error fails the run and nothing else. One run per connection at a time
 * (a Postgres advisory lock, so this holds across workers).
 */
export class SyncService {
  private readonly children = new Set<ChildProcess>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ConnectorRegistry,
    private readonly connections: ConnectionService,
    private readonly runs: ConnectorRunService,
    private readonly targets: IngestTargets,
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

  /** Kills every running sync process (shutdown). */
  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }

  private async runLocked(connectionId: string, queuedRunId: string | undefined): Promise<SyncOutcome> {
    const connection = (await this.connections.get(connectionId))!;
    const runId = queuedRunId ?? (await this.runs.start('SYNC', connectionId));
    if (queuedRunId) await this.runs.setStatus(runId, 'RUNNING');
    const log = this.logger.child({ connectionId, runId, connector: connection.connector });

    let entry: string;
    let config: Record<string, unknown>;
    try {
      const available = this.registry.require(connection.connector);
      if (!available.definition.sync) throw new Error(`connector "${connection.connector}" has no sync (push only)`);
      entry = available.entry;
      config = this.connections.decryptedConfig(connection, available.definition);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.runs.finish(runId, 'FAILED', message);
      await this.connections.recordRunEnd(connectionId, {});
      return { runId, status: 'FAILED', pages: 0, error: message };
    }

    const source = connectionSource(connectionId);
    const child = fork(RUNNER, [], { execArgv: runnerExecArgv(entry), stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    this.children.add(child);
    const output = (stream: NodeJS.ReadableStream | null) =>
      stream?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) log.debug({ output: line }, 'sync process output');
      });
    output(child.stdout);
    output(child.stderr);

    let pages = 0;
    let ended: { status: RunStatus; error?: string; failure?: SyncFailure } | undefined;
    let chain: Promise<void> = Promise.resolve();
    const reply = (message: HostMessage) => {
      if (child.connected) child.send(message);
    };

    // 'close' comes after the process ended and its pipes drained, so every IPC message has been delivered;
    // a grandchild holding the pipes open must not hold the run, hence the grace period after 'exit'.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal }));
      child.once('exit', (code, signal) => setTimeout(() => resolve({ code, signal }), 2_000).unref());
    });
    const timer = setTimeout(() => {
      ended ??= { status: 'FAILED', error: `time limit of ${this.options.timeLimitMs} ms exceeded; the sync process was killed` };
      child.kill('SIGKILL');
    }, this.options.timeLimitMs);

    child.on('message', (message: ChildMessage) => {
      switch (message.type) {
        case 'ready':
          reply({ type: 'start', entry, config, state: (connection.state as JsonObject | null) ?? null, maxPages: this.options.maxPagesPerRun ?? 1000, egress: this.options.egress ?? {} });
          return;
        case 'log':
          log[message.level === 'debug' ? 'debug' : message.level]({ plugin: message.fields ?? {} }, message.message);
          return;
        case 'done':
          ended ??= { status: 'SUCCEEDED' };
          return;
        case 'failed':
          ended ??= classify(message.error);
          return;
        case 'emit':
          chain = chain.then(async () => {
            if (ended) return reply({ type: 'ack', seq: message.seq, error: 'the run has ended' });
            try {
              const counts = await commitBatch(this.targets, message.batch, source, 'PER_ROW');
              await this.runs.addCounts(runId, counts);
              const result: EmitResult = {
                accepted: counts.accepted,
                duplicates: counts.duplicates,
                rejected: counts.rejected,
                errors: counts.errors.map((e) => ({ path: e.path ?? '', segments: [], code: e.code, message: e.message })),
              };
              reply({ type: 'ack', seq: message.seq, result });
            } catch (error) {
              log.error({ err: error }, 'could not commit a batch');
              ended ??= { status: 'FAILED', error: `could not commit a batch: ${error instanceof Error ? error.message : String(error)}` };
              reply({ type: 'abort', reason: 'commit failed' });
              child.kill('SIGKILL');
            }
          });
          return;
        case 'checkpoint':
          chain = chain.then(async () => {
            if (ended) return reply({ type: 'ack', seq: message.seq, error: 'the run has ended' });
            // Every emit before this checkpoint was committed earlier in the chain.
            await this.connections.saveState(connectionId, message.state);
            pages++;
            await this.runs.setStatus(runId, 'RUNNING', { pages });
            reply({ type: 'ack', seq: message.seq });
          });
          return;
      }
    });

    const exit = await exited;
    clearTimeout(timer);
    this.children.delete(child);
    await chain.catch(() => undefined);
    ended ??= { status: 'FAILED', error: `the sync process exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`})` };

    const needsAttention =
      ended.failure && (ended.failure.code === CONNECTOR_ERROR_CODES.AUTHENTICATION || ended.failure.code === CONNECTOR_ERROR_CODES.CONFIG) ? ended.error : undefined;
    await this.runs.finish(runId, ended.status, ended.error ?? null, {
      pages,
      ...(ended.failure?.retryAfterMs !== undefined ? { retryAfterMs: ended.failure.retryAfterMs } : {}),
    });
    await this.connections.recordRunEnd(connectionId, { needsAttention });
    if (ended.status === 'FAILED') log.warn({ error: ended.error }, 'sync run failed');
    return { runId, status: ended.status, pages, error: ended.error, retryAfterMs: ended.failure?.retryAfterMs };
  }
}

/** Rate limits and transient failures end a run early as a partial success; the next run resumes from the saved cursor. */
function classify(failure: SyncFailure): { status: RunStatus; error: string; failure: SyncFailure } {
  const label = failure.code ? `${failure.code}: ${failure.message}` : `${failure.name}: ${failure.message}`;
  return { status: failure.retryable ? 'PARTIAL' : 'FAILED', error: label, failure };
}

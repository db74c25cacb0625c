import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor } from '../../infra/cursor';
import { pageSize } from '../../infra/sql-filter';
import type { Page } from '../../infra/page';
import type { BatchCounts } from './batch-commit';
import { outboxInsertSql } from '../events';
import { NO_CUSTOMER } from '../events';

/** The values of `connector_runs.kind` and `connector_runs.status` (check constraints in migrations). */
export const RUN_KINDS = ['SYNC', 'WEBHOOK', 'IMPORT'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED'] as const;
/** PARTIAL: ended early (rate limit, transient failure) with every committed batch kept; the next run resumes. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One row rejected by a run, with where it was and why (an element of `connector_runs.errors`). */
export interface RunError {
  /** Line number (file imports) or path in the batch (`interactions[3].occurredAt`). */
  line?: number;
  path?: string;
  code: string;
  message: string;
}

/** How many rejected rows a run keeps with their reasons. */
export const MAX_RUN_ERRORS = 100;

/** A run as the API shows it. */
export interface ConnectorRunRecord {
  id: string;
  connectionId: string | null;
  kind: RunKind;
  status: RunStatus;
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: RunError[];
  error: string | null;
  details: Record<string, unknown>;
  startedAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = `id::text, connection_id::text AS "connectionId", kind, status, received, accepted, duplicates, rejected, errors, error, details,
  started_at AS "startedAt", finished_at AS "finishedAt"`;

/** Records every sync, webhook batch and file import in `connector_runs`. */
export class ConnectorRunService {
  constructor(private readonly dataSource: DataSource) {}

  async start(kind: RunKind, connectionId: string | null, details: Record<string, unknown> = {}, status: RunStatus = 'RUNNING'): Promise<string> {
    const [row] = await this.dataSource.query(`INSERT INTO connector_runs (connection_id, kind, status, details) VALUES ($1, $2, $3, $4) RETURNING id::text`, [
      connectionId,
      kind,
      status,
      JSON.stringify(details),
    ]);
    return row.id;
  }

  /** Adds a committed batch's counts; keeps the first {@link MAX_RUN_ERRORS} errors. */
  async addCounts(runId: string, counts: BatchCounts, details?: Record<string, unknown>): Promise<void> {
    await this.dataSource.query(
      `UPDATE connector_runs SET
         received = received + $2, accepted = accepted + $3, duplicates = duplicates + $4, rejected = rejected + $5,
         errors = CASE WHEN jsonb_array_length(errors) >= ${MAX_RUN_ERRORS} OR jsonb_array_length($6::jsonb) = 0 THEN errors
                  ELSE (SELECT jsonb_agg(e ORDER BY n) FROM (SELECT e, n FROM jsonb_array_elements(errors || $6::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n LIMIT ${MAX_RUN_ERRORS}) s) END,
         details = details || COALESCE($7::jsonb, '{}'::jsonb),
         status = CASE WHEN status = 'QUEUED' THEN 'RUNNING' ELSE status END
       WHERE id = $1`,
      [
        runId,
        counts.received,
        counts.accepted,
        counts.duplicates,
        counts.rejected,
        JSON.stringify(counts.errors.slice(0, MAX_RUN_ERRORS)),
        details ? JSON.stringify(details) : null,
      ],
    );
  }

  async setStatus(runId: string, status: RunStatus, details?: Record<string, unknown>): Promise<void> {
    await this.dataSource.query(`UPDATE connector_runs SET status = $2, details = details || COALESCE($3::jsonb, '{}'::jsonb) WHERE id = $1`, [
      runId,
      status,
      details ? JSON.stringify(details) : null,
    ]);
  }

  async finish(runId: string, status: RunStatus, error: string | null = null, details?: Record<string, unknown>): Promise<void> {
    // A failed run of a connection publishes connection.failed in the same statement.
    await this.dataSource.query(
      `WITH finished AS (
         UPDATE connector_runs SET status = $2, error = $3, finished_at = now(), details = details || COALESCE($4::jsonb, '{}'::jsonb) WHERE id = $1
         RETURNING id, connection_id, status),
       published AS (${outboxInsertSql(
         'connection.failed',
         `SELECT ${NO_CUSTOMER}::bigint AS customer_id, jsonb_build_object('connectionId', connection_id::text, 'runId', id::text) AS payload
                                                              FROM finished WHERE status = 'FAILED' AND connection_id IS NOT NULL`,
       )})
       SELECT 1`,
      [runId, status, error, details ? JSON.stringify(details) : null],
    );
  }

  async get(runId: string): Promise<ConnectorRunRecord | undefined> {
    const [row] = await this.dataSource.query(`SELECT ${COLUMNS} FROM connector_runs WHERE id = $1`, [runId]);
    return row;
  }

  /** Runs of a connection (or, with null, file imports without one), newest first. */
  async list(
    connectionId: string | null,
    args: { first?: number | null; after?: string | null },
  ): Promise<Page<ConnectorRunRecord> & { totalCount: () => Promise<number> }> {
    const first = pageSize(args.first);
    const afterId = args.after ? decodeCursor('connector-runs', args.after, 1)[0] : null;
    const rows: (ConnectorRunRecord & { id: string })[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM connector_runs
        WHERE connection_id IS NOT DISTINCT FROM $1 AND ($2::bigint IS NULL OR connector_runs.id < $2::bigint)
        -- The column, not the text id selected under the same name: newest first by number.
        ORDER BY connector_runs.id DESC LIMIT $3`,
      [connectionId, afterId, first + 1],
    );
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor('connector-runs', [String(node.id)]), node }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
      totalCount: async () => {
        const [{ count }] = await this.dataSource.query(`SELECT count(*)::int AS count FROM connector_runs WHERE connection_id IS NOT DISTINCT FROM $1`, [
          connectionId,
        ]);
        return count;
      },
    };
  }
}

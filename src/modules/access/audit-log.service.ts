import type { DataSource } from 'typeorm';
import { fail } from '../../errors/catalog';
import { decodeCursor, encodeCursor } from '../../infra/cursor';

/** An entry of the audit log as reads return it. */
export interface AuditRow {
  id: string;
  occurredAt: Date;
  actor: string;
  actorKind: string;
  operation: string;
  variables: unknown;
  records: string[];
  result: string;
  error: string | null;
}

/** Which audit entries to read; every field optional. */
export interface AuditFilter {
  actor?: string | null;
  operation?: string | null;
  from?: Date | null;
  to?: Date | null;
}

export interface AuditPage {
  entries: AuditRow[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Reads of the audit log (entries are written by the audit transaction hook, see audit.ts). */
export class AuditLogService {
  constructor(private readonly dataSource: DataSource) {}

  /** A page of entries, newest first. @throws PAGE_SIZE_EXCEEDED when `first` is outside 0–500. */
  async page(filter: AuditFilter | null | undefined, first = 50, afterCursor?: string | null): Promise<AuditPage> {
    if (first < 0 || first > 500) throw fail('PAGE_SIZE_EXCEEDED', { detail: 'first must be between 0 and 500' }, 'first');
    const after = afterCursor ? decodeCursor('audit-log', afterCursor, 1)[0] : null;
    const rows: AuditRow[] = await this.dataSource.query(
      `SELECT id::text, occurred_at AS "occurredAt", actor, actor_kind AS "actorKind", operation, variables, records, result, error
         FROM audit_log
        WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR operation = $2)
          AND ($3::timestamptz IS NULL OR occurred_at >= $3) AND ($4::timestamptz IS NULL OR occurred_at < $4)
          AND ($5::bigint IS NULL OR audit_log.id < $5)
        -- The column, not the text id selected under the same name: newest first by number.
        ORDER BY audit_log.id DESC LIMIT $6`,
      [filter?.actor ?? null, filter?.operation ?? null, filter?.from?.toISOString() ?? null, filter?.to?.toISOString() ?? null, after, first + 1],
    );
    return {
      entries: rows.slice(0, first),
      hasNextPage: rows.length > first,
      endCursor: rows.length && first > 0 ? encodeCursor('audit-log', [rows[Math.min(rows.length, first) - 1].id]) : null,
    };
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { TransactionHook } from '../../infra/database';
import type { Principal } from './scopes';

/** The audit entry of the mutation being executed. */
interface AuditScope {
  principal: Principal;
  operation: string;
  variables: unknown;
  records: Set<string>;
  written: boolean;
}

const storage = new AsyncLocalStorage<AuditScope>();

/** Runs `work` (a mutation) with an audit entry that commits with its first transaction. */
export function withAudit<T>(scope: { principal: Principal; operation: string; variables: unknown }, work: () => T): T {
  return storage.run({ ...scope, variables: redact(scope.variables), records: new Set(), written: false }, work);
}

/** Services name the records a change touches (`customer:12`). */
export function auditRecords(kind: string, ids: Iterable<string>): void {
  const scope = storage.getStore();
  if (!scope) return;
  for (const id of ids) if (scope.records.size < 1000) scope.records.add(`${kind}:${id}`);
}

const INSERT = `INSERT INTO audit_log (actor, actor_kind, operation, variables, records, result, error) VALUES ($1, $2, $3, $4, $5, $6, $7)`;

/**
 * Every transaction run through inTransaction() writes the pending entry before
 * it commits: the entry exists exactly when the change does. The access module
 * declares it in its manifest.
 */
export const auditTransactionHook: TransactionHook = {
  async beforeCommit(manager: EntityManager) {
    const scope = storage.getStore();
    if (!scope || scope.written) return;
    await manager.query(INSERT, [
      scope.principal.subject,
      scope.principal.kind,
      scope.operation,
      JSON.stringify(scope.variables),
      JSON.stringify([...scope.records]),
      'COMMITTED',
      null,
    ]);
  },
  afterCommit() {
    const scope = storage.getStore();
    if (scope) scope.written = true;
  },
};

/**
 * After a mutation: when no transaction carried the entry (the mutation failed
 * before writing, or wrote nothing), record the attempt and its outcome.
 */
export async function finishAudit(dataSource: DataSource, errorCodes: string[]): Promise<void> {
  const scope = storage.getStore();
  if (!scope || scope.written) return;
  await dataSource.query(INSERT, [
    scope.principal.subject,
    scope.principal.kind,
    scope.operation,
    JSON.stringify(scope.variables),
    JSON.stringify([...scope.records]),
    errorCodes.length ? 'FAILED' : 'NO_CHANGE',
    errorCodes.length ? errorCodes.join(',') : null,
  ]);
  scope.written = true;
}

/** Keys whose string values are not personal data and are kept in audit entries. */
const SAFE_KEYS = new Set([
  'type',
  'channel',
  'kind',
  'mode',
  'source',
  'direction',
  'currency',
  'occurredAt',
  'purpose',
  'status',
  'op',
  'field',
  'aggregate',
  'name',
  'scopes',
  'expiresAt',
  'id',
  'ids',
  'segmentId',
  'customerId',
  'connector',
  'lifecycleStage',
  'kinds',
]);

/** Lists in an entry's variables keep this many items, then a `[N more]` marker. */
export const AUDITED_ITEMS_PER_LIST = 20;

/** Personal data never reaches the audit log: string values are redacted except under known-safe keys. */
export function redact(value: unknown, key?: string): unknown {
  if (typeof value === 'string') {
    // jsonb cannot hold NUL; entries stay small.
    return key !== undefined && SAFE_KEYS.has(key) ? value.replaceAll('\u0000', '').slice(0, 256) : '[redacted]';
  }
  if (Array.isArray(value)) {
    // A batch is stored as data already: its entry keeps the first rows and the count, not a second copy.
    if (value.length <= AUDITED_ITEMS_PER_LIST) return value.map((v) => redact(v, key));
    return [...value.slice(0, AUDITED_ITEMS_PER_LIST).map((v) => redact(v, key)), `[${value.length - AUDITED_ITEMS_PER_LIST} more]`];
  }
  if (value && typeof value === 'object') {
    if (key === 'identifiers' || key === 'traits' || key === 'properties' || key === 'config') {
      return Array.isArray(value) ? value.map(() => '[redacted]') : '[redacted]';
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  return value;
}

/**
 * Writes an audit entry for a change Rapport made by itself (a worker, not a
 * request): `actor` names the component (`system:webhooks`), in the
 * caller's transaction so the entry commits with the change.
 */
export async function recordSystemAudit(
  manager: EntityManager,
  entry: { actor: string; operation: string; variables: Record<string, unknown>; records: string[] },
): Promise<void> {
  await manager.query(INSERT, [
    entry.actor,
    'system',
    entry.operation,
    JSON.stringify(redact(entry.variables)),
    JSON.stringify(entry.records),
    'COMMITTED',
    null,
  ]);
}

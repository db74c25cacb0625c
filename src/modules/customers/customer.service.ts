import type { EventBus } from '../events';
import type { DataSource } from 'typeorm';
import { ErrorCode } from '../../errors/catalog';
import { abortUnwritten, checkJsonObject, checkText, RowProblems, type BatchMode, type RowError } from '../../errors/row-error';
import { inTransaction } from '../../infra/database';
import { auditRecords } from '../access';
import type { RefreshRequester } from './customers.jobs';
import { CUSTOMER_KINDS, type CustomerKind } from './customer-kind';
import { normalizeIdentifiers, toCustomerDemand, type CustomerRef } from './customer-ref';
import type { IdentifierInput } from './identity';
import type { TombstoneHasher } from './tombstones';
import { IdentityRaceError, resolveCustomers, SERIALIZE_AFTER_ATTEMPT, type CustomerDemand } from './identity-resolver';
import { publish } from '../events';

/** One customer as `upsertCustomers` receives it; omitted fields are left unchanged. */
export interface CustomerRow {
  identifiers: IdentifierInput[];
  kind?: CustomerKind | null;
  displayName?: string | null;
  /** Merged into the stored traits key by key. */
  traits?: Record<string, unknown> | null;
  lifecycleStage?: string | null;
  owner?: string | null;
  organization?: CustomerRef | null;
  /** From an unauthenticated sender: may only create a customer or write to an anonymous one (see CustomerDemand.unverified). */
  unverified?: boolean;
}

/** WRITTEN is CREATED or UPDATED as callers without pii:read see it (see customer.graphql.ts). */
export type UpsertStatus = 'CREATED' | 'UPDATED' | 'REJECTED' | 'WRITTEN';

export interface UpsertRowResult {
  index: number;
  status: UpsertStatus;
  customerId?: string;
  errors: RowError[];
}

export interface UpsertCustomersResult {
  committed: boolean;
  created: number;
  updated: number;
  rejected: number;
  results: UpsertRowResult[];
}

export const CUSTOMER_LIMITS = {
  maxCustomersPerBatch: 1000,
  maxTextLength: 256,
  maxTraitsBytes: 32 * 1024,
} as const;

interface ValidCustomerRow {
  index: number;
  demand: CustomerDemand;
  organizationDemand?: CustomerDemand;
  kind?: CustomerKind;
  displayName?: string;
  traits?: Record<string, unknown>;
  lifecycleStage?: string;
  owner?: string;
}

/**
 * Creates or updates customers matched by identifiers, set-based: one lookup,
 * one insert of new customers, one insert of new identifiers and one update for
 * the whole batch.
 */
export class CustomerService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly requestRefresh: RefreshRequester,
    /** How erased identifiers are hashed, to refuse them (IDENTIFIER_ERASED). */
    private readonly tombstones?: TombstoneHasher,
    /** Where identity conflicts under a MERGE or FLAG policy go (`identity.conflicted`); without it they are refused. */
    private readonly events?: Pick<EventBus, 'emitInTransaction'>,
  ) {}

  async upsertCustomers(rows: CustomerRow[], mode: BatchMode = 'ATOMIC'): Promise<UpsertCustomersResult> {
    const results: UpsertRowResult[] = rows.map((_, index) => ({ index, status: 'UPDATED', errors: [] }));
    const valid: ValidCustomerRow[] = [];
    rows.forEach((row, index) => {
      const checked = validateCustomer(row, index);
      if ('errors' in checked) results[index] = { index, status: 'REJECTED', errors: checked.errors };
      else valid.push(checked);
    });

    // Organisations are demands too: found by id or identifiers, created as ORGANIZATION when new.
    const demands: CustomerDemand[] = valid.map((v) => v.demand);
    const orgDemandIndex = new Map<number, number>();
    valid.forEach((v, i) => {
      if (v.organizationDemand) {
        orgDemandIndex.set(i, demands.length);
        demands.push({ ...v.organizationDemand, profile: { kind: 'ORGANIZATION' } });
      }
    });

    const outcome = await inTransaction(
      this.dataSource,
      async (manager, attempt) => {
        let rowErrors = new Map<number, RowError>();
        const resolvedCustomers = await resolveCustomers(
          manager,
          demands,
          { serialize: attempt >= SERIALIZE_AFTER_ATTEMPT, tombstones: this.tombstones, events: this.events },
          (plan) => {
            rowErrors = new Map<number, RowError>();
            valid.forEach((v, i) => {
              const own = plan.resolutions[i];
              if (!own.ok) {
                rowErrors.set(i, { code: own.code, field: own.field === 'id' ? 'id' : own.field, message: own.message });
                return;
              }
              const orgIndex = orgDemandIndex.get(i);
              if (orgIndex === undefined) return;
              const org = plan.resolutions[orgIndex];
              if (!org.ok) rowErrors.set(i, { code: org.code, field: `organization.${org.field}`, message: org.message });
              else if (org.kind && org.kind !== 'ORGANIZATION' && !org.created) {
                rowErrors.set(i, { code: ErrorCode.INVALID_FIELD, field: 'organization', message: 'organization refers to a customer of kind PERSON' });
              } else if (!org.created && !own.created && org.customerId === own.customerId) {
                rowErrors.set(i, { code: ErrorCode.INVALID_FIELD, field: 'organization', message: 'a customer cannot be its own organization' });
              }
            });
            const anyInvalid = rowErrors.size > 0 || results.some((r) => r.status === 'REJECTED');
            if (mode === 'ATOMIC' && anyInvalid) return { stop: true };
            return (demandIndex: number) => {
              if (demandIndex < valid.length) return !rowErrors.has(demandIndex);
              for (const [row, org] of orgDemandIndex) if (org === demandIndex) return !rowErrors.has(row);
              return false;
            };
          },
        );
        if ('stop' in resolvedCustomers) return { written: false as const, rowErrors };
        const resolved = resolvedCustomers.resolutions;
        const updates = new Map<string, Partial<ValidCustomerRow> & { organizationId?: string }>();
        const outcomes: { row: ValidCustomerRow; customerId: string; created: boolean }[] = [];
        valid.forEach((v, i) => {
          const own = resolved[i];
          if (rowErrors.has(i) || !own.ok) return;
          const orgIndex = orgDemandIndex.get(i);
          const org = orgIndex === undefined ? undefined : resolved[orgIndex];
          if (org?.ok && org.customerId === own.customerId) {
            rowErrors.set(i, { code: ErrorCode.INVALID_FIELD, field: 'organization', message: 'a customer cannot be its own organization' });
            return;
          }
          const previous = updates.get(own.customerId);
          // Later rows for the same customer win field by field; traits merge.
          updates.set(own.customerId, {
            ...previous,
            ...definedOnly(v),
            traits: previous?.traits || v.traits ? { ...(previous?.traits ?? {}), ...(v.traits ?? {}) } : undefined,
            organizationId: org?.ok ? org.customerId : previous?.organizationId,
          });
          outcomes.push({ row: v, customerId: own.customerId, created: own.created });
        });
        if (mode === 'ATOMIC' && rowErrors.size > 0) throw new AbortAtomic(rowErrors);
        await applyCustomerUpdates(manager, updates);
        // New customers published customer.created when identity resolution made them.
        const existing = new Set(outcomes.filter((o) => !o.created).map((o) => o.customerId));
        await publish(
          manager,
          'customer.updated',
          [...existing].map((customerId) => ({ customerId, payload: { customerId } })),
        );
        auditRecords('customer', updates.keys());
        return { written: true as const, rowErrors, outcomes };
      },
      { isRetryable: (e) => e instanceof IdentityRaceError },
    ).catch((error: unknown) => {
      if (error instanceof AbortAtomic) return { written: false as const, rowErrors: error.rowErrors };
      throw error;
    });

    for (const [i, error] of outcome.rowErrors) results[valid[i].index] = { index: valid[i].index, status: 'REJECTED', errors: [error] };
    if (!outcome.written) {
      abortUnwritten(results);
      return summarize(false, results);
    }
    for (const o of outcome.outcomes) {
      results[o.row.index] = { index: o.row.index, status: o.created ? 'CREATED' : 'UPDATED', customerId: o.customerId, errors: [] };
    }
    const touched = [...new Set(outcome.outcomes.map((o) => o.customerId))];
    if (touched.length > 0) await this.requestRefresh(touched).catch(() => undefined);
    return summarize(true, results);
  }
}

class AbortAtomic extends Error {
  constructor(readonly rowErrors: Map<number, RowError>) {
    super('atomic batch aborted');
  }
}

function definedOnly(row: ValidCustomerRow): Partial<ValidCustomerRow> {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as Partial<ValidCustomerRow>;
}

async function applyCustomerUpdates(
  manager: import('typeorm').EntityManager,
  updates: Map<string, Partial<ValidCustomerRow> & { organizationId?: string }>,
): Promise<void> {
  if (updates.size === 0) return;
  const sorted = [...updates].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const ids = sorted.map(([id]) => id);
  const u = sorted.map(([, update]) => update);
  await manager.query(
    `UPDATE customers c SET
        kind = COALESCE(v.kind, c.kind),
        display_name = COALESCE(v.display_name, c.display_name),
        traits = c.traits || COALESCE(v.traits, '{}'::jsonb),
        lifecycle_stage = COALESCE(v.lifecycle_stage, c.lifecycle_stage),
        owner = COALESCE(v.owner, c.owner),
        organization_id = COALESCE(v.organization_id, c.organization_id),
        updated_at = now(),
        dirty_since = COALESCE(c.dirty_since, now())
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::bigint[])
            AS v(id, kind, display_name, traits, lifecycle_stage, owner, organization_id)
      WHERE c.id = v.id`,
    [
      ids,
      u.map((x) => x.kind ?? null),
      u.map((x) => x.displayName ?? null),
      u.map((x) => (x.traits ? JSON.stringify(x.traits) : null)),
      u.map((x) => x.lifecycleStage ?? null),
      u.map((x) => x.owner ?? null),
      u.map((x) => x.organizationId ?? null),
    ],
  );
}

function summarize(committed: boolean, results: UpsertRowResult[]): UpsertCustomersResult {
  const count = (s: UpsertStatus) => results.filter((r) => r.status === s).length;
  return { committed, created: count('CREATED'), updated: count('UPDATED'), rejected: count('REJECTED'), results };
}

function validateCustomer(row: CustomerRow, index: number): ValidCustomerRow | { errors: RowError[] } {
  const p = new RowProblems();
  const code = ErrorCode.INVALID_FIELD;
  const max = CUSTOMER_LIMITS.maxTextLength;
  const identifiers = Array.isArray(row.identifiers) ? normalizeIdentifiers(p, 'identifiers', row.identifiers) : undefined;
  if (!Array.isArray(row.identifiers)) p.add(ErrorCode.INVALID_IDENTIFIER, 'identifiers', 'identifiers is required');
  const kind = row.kind ?? undefined;
  if (kind !== undefined && !CUSTOMER_KINDS.includes(kind)) p.add(code, 'kind', `kind must be one of ${CUSTOMER_KINDS.join(', ')}`);
  const displayName = checkText(p, code, 'displayName', row.displayName, { max });
  const lifecycleStage = checkText(p, code, 'lifecycleStage', row.lifecycleStage, { max: 64 });
  const owner = checkText(p, code, 'owner', row.owner, { max });
  const traits = checkJsonObject(p, code, 'traits', row.traits, CUSTOMER_LIMITS.maxTraitsBytes);
  const organizationDemand = row.organization
    ? toCustomerDemand(p, 'organization', row.unverified ? { ...row.organization, unverified: true } : row.organization)
    : undefined;
  if (!p.ok || !identifiers) return { errors: p.errors };
  return {
    index,
    demand: { identifiers, profile: { kind, displayName, traits, lifecycleStage, owner }, unverified: row.unverified === true },
    organizationDemand,
    kind,
    displayName,
    traits,
    lifecycleStage,
    owner,
  };
}

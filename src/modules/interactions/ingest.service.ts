import type { EventBus } from '../events';
import type { DataSource, EntityManager } from 'typeorm';
import { abortUnwritten, type BatchMode, type RowError, type RowStatus } from '../../errors/row-error';
import { inTransaction } from '../../infra/database';
import { auditRecords } from '../access';
import type { Logger } from '../../infra/logger';
import type { CustomerLocator as CustomerRef, NewCustomerProfile, TombstoneHasher } from '../customers';
import { pgArray } from '../../infra/pg-array';
import { IdentityRaceError, resolveCustomers, SERIALIZE_AFTER_ATTEMPT } from '../customers';
import { outboxInsertSql } from '../events';
import { validateInteraction, type InteractionRow, type ValidRow } from './validate-interaction';

export { INGEST_LIMITS, TRANSACTION_TYPES, validateInteraction, type InteractionRow, type UncheckedInteractionRow } from './validate-interaction';

/** An interaction's own fields (all but its customer and source), as a source row carries them. */
export type InteractionFields = Pick<InteractionRow, 'channel' | 'type' | 'occurredAt' | 'value' | 'currency' | 'direction' | 'sentiment' | 'externalId'> & {
  properties?: unknown;
};

/**
 * A row for {@link IngestService.recordInteractions}, copied field by field:
 * one object shape for every row (a spread of a coerced 5,000-row input costs
 * more), and only the fields ingest reads.
 */
export function interactionRow(customer: CustomerRef, source: string, fields: InteractionFields, customerProfile?: NewCustomerProfile): InteractionRow {
  return {
    customer,
    customerProfile,
    channel: fields.channel,
    type: fields.type,
    occurredAt: fields.occurredAt,
    value: fields.value,
    currency: fields.currency,
    direction: fields.direction,
    sentiment: fields.sentiment,
    properties: fields.properties as Record<string, unknown> | null | undefined,
    source,
    externalId: fields.externalId,
  };
}

export interface InteractionRowResult {
  index: number;
  status: RowStatus;
  /** The stored interaction (accepted) or the one it duplicates. */
  interactionId?: string;
  customerId?: string;
  errors: RowError[];
}

export interface RecordInteractionsResult {
  committed: boolean;
  accepted: number;
  duplicates: number;
  rejected: number;
  results: InteractionRowResult[];
}

/** Called after a commit with the customers whose data changed. Failures are logged, never raised. */
import type { RefreshRequester } from '../customers';
export type { RefreshRequester };

/**
 * Writes interactions: validate every row, resolve customers by identifiers,
 * insert set-based (one statement per table per batch), idempotent on
 * (source, externalId), and mark the touched customers dirty in the same
 * transaction so no change is lost if the refresh enqueue fails afterwards.
 */
export class IngestService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly requestRefresh: RefreshRequester,
    private readonly logger: Logger,
    /** How erased identifiers are hashed, to refuse them (IDENTIFIER_ERASED). */
    readonly tombstones?: TombstoneHasher,
    /** Where identity conflicts under a MERGE or FLAG policy go (`identity.conflicted`); without it they are refused. */
    private readonly events?: Pick<EventBus, 'emitInTransaction'>,
  ) {}

  async recordInteractions(rows: InteractionRow[], mode: BatchMode = 'ATOMIC', now = new Date()): Promise<RecordInteractionsResult> {
    const results: InteractionRowResult[] = rows.map((_, index) => ({ index, status: 'ACCEPTED', errors: [] }));
    const valid: ValidRow[] = [];
    const firstByKey = new Map<string, number>();
    rows.forEach((row, index) => {
      const checked = validateInteraction(row, index, now);
      if ('errors' in checked) {
        results[index] = { index, status: 'REJECTED', errors: checked.errors };
        return;
      }
      const key = checked.key;
      const first = firstByKey.get(key);
      if (first !== undefined) {
        // The same delivery twice in one batch: the first one wins, like a retry would.
        results[index] = { index, status: 'DUPLICATE', errors: [] };
        return;
      }
      firstByKey.set(key, index);
      valid.push(checked);
    });

    const outcome = await inTransaction(
      this.dataSource,
      async (manager, attempt) => {
        let planRejected = new Set<number>();
        const resolved = await resolveCustomers(
          manager,
          valid.map((v) => v.demand),
          { serialize: attempt >= SERIALIZE_AFTER_ATTEMPT, adoptLostRaces: true, tombstones: this.tombstones, events: this.events },
          (plan) => {
            planRejected = new Set<number>();
            plan.resolutions.forEach((resolution, i) => {
              if (!resolution.ok) planRejected.add(i);
            });
            const invalidCount = results.filter((r) => r.status === 'REJECTED').length + planRejected.size;
            if (mode === 'ATOMIC' && invalidCount > 0) return { stop: true };
            return (i) => !planRejected.has(i);
          },
        );
        const plan = resolved.plan;
        if ('stop' in resolved) return { written: false as const, plan, planRejected };
        const resolutions = resolved.resolutions;
        const writable: ValidRow[] = [];
        const customerIds: string[] = [];
        valid.forEach((row, i) => {
          const r = resolutions[i];
          if (planRejected.has(i) || !r.ok) return;
          writable.push(row);
          customerIds.push(r.customerId);
        });
        const written = await insertInteractions(manager, writable, customerIds);
        auditRecords('customer', new Set(customerIds));
        return { written: true as const, plan, planRejected, writable, customerIds, ...written };
      },
      { isRetryable: (e) => e instanceof IdentityRaceError },
    );

    valid.forEach((row, i) => {
      const resolution = outcome.plan.resolutions[i];
      if (!resolution.ok) {
        results[row.index] = {
          index: row.index,
          status: 'REJECTED',
          errors: [{ code: resolution.code, field: `customer.${resolution.field}`, message: resolution.message }],
        };
      }
    });

    if (!outcome.written) {
      abortUnwritten(results);
      return summarize(false, results);
    }

    const touched = new Set<string>();
    outcome.writable.forEach((row, i) => {
      const key = row.key;
      const insertedId = outcome.inserted.get(key);
      const customerId = outcome.customerIds[i];
      if (insertedId) {
        results[row.index] = { index: row.index, status: 'ACCEPTED', interactionId: insertedId, customerId, errors: [] };
        touched.add(customerId);
      } else {
        results[row.index] = { index: row.index, status: 'DUPLICATE', interactionId: outcome.existing.get(key), customerId, errors: [] };
      }
    });
    // In-batch repeats point at the row they repeat.
    rows.forEach((_, index) => {
      const r = results[index];
      if (r.status !== 'DUPLICATE' || r.interactionId) return;
      const row = rows[index];
      const first = firstByKey.get(`${row.source?.trim()}\u0000${row.externalId?.trim()}`);
      if (first !== undefined) {
        r.interactionId = results[first].interactionId;
        r.customerId = results[first].customerId;
      }
    });

    if (touched.size > 0) await this.safeRequestRefresh([...touched]);
    return summarize(true, results);
  }

  /** Enqueue failures must not fail a committed ingest: the dirty sweep catches up. */
  async safeRequestRefresh(customerIds: string[]): Promise<void> {
    try {
      await this.requestRefresh(customerIds);
    } catch (error) {
      this.logger.warn({ err: error, customers: customerIds.length }, 'could not enqueue customer.refresh; the dirty sweep will catch up');
    }
  }
}

function summarize(committed: boolean, results: InteractionRowResult[]): RecordInteractionsResult {
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  for (const r of results) {
    if (r.status === 'ACCEPTED') accepted++;
    else if (r.status === 'DUPLICATE') duplicates++;
    else rejected++;
  }
  return { committed, accepted, duplicates, rejected, results };
}

/** The interaction.recorded payload of each row of an `ins` CTE (RETURNING the inserted interactions), in insert order. */
const INTERACTION_RECORDED_ROWS = `SELECT customer_id, jsonb_build_object('customerId', customer_id::text, 'interactionId', id::text, 'channel', channel, 'type', type,
    'occurredAt', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS payload, id FROM ins`;

async function insertInteractions(
  manager: EntityManager,
  rows: ValidRow[],
  customerIds: string[],
): Promise<{ inserted: Map<string, string>; existing: Map<string, string> }> {
  const inserted = new Map<string, string>();
  const existing = new Map<string, string>();
  if (rows.length === 0) return { inserted, existing };
  // A fixed order of unique-index inserts keeps concurrent batches from deadlocking.
  const order = rows.map((_, i) => i).sort((a, b) => (rows[a].key < rows[b].key ? -1 : rows[a].key > rows[b].key ? 1 : 0));
  rows = order.map((i) => rows[i]);
  customerIds = order.map((i) => customerIds[i]);
  // interaction.recorded is published by the same statement, for the rows it inserted (not for duplicates).
  const returned: { id: string; source: string; external_id: string }[] = await manager.query(
    `WITH ins AS (
       INSERT INTO interactions (customer_id, channel, type, direction, occurred_at, value, currency, sentiment, properties, source, external_id)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::numeric[],
                            $7::text[], $8::real[], $9::jsonb[], $10::text[], $11::text[])
       ON CONFLICT (source, external_id) DO NOTHING
       RETURNING id, customer_id, channel, type, occurred_at, source, external_id),
     published AS (${outboxInsertSql('interaction.recorded', INTERACTION_RECORDED_ROWS, 'customer_id, id')})
     SELECT id::text, source, external_id FROM ins`,
    [
      pgArray(customerIds),
      pgArray(rows.map((r) => r.channel)),
      pgArray(rows.map((r) => r.type)),
      pgArray(rows.map((r) => r.direction)),
      pgArray(rows.map((r) => r.occurredAt.toISOString())),
      pgArray(rows.map((r) => r.value)),
      pgArray(rows.map((r) => r.currency)),
      pgArray(rows.map((r) => r.sentiment)),
      pgArray(rows.map((r) => JSON.stringify(r.properties))),
      pgArray(rows.map((r) => r.source)),
      pgArray(rows.map((r) => r.externalId)),
    ],
  );
  for (const row of returned) inserted.set(`${row.source}\u0000${row.external_id}`, row.id);
  const duplicates = rows.filter((r) => !inserted.has(r.key));
  if (duplicates.length > 0) {
    const found: { id: string; source: string; external_id: string }[] = await manager.query(
      `SELECT i.id::text, i.source, i.external_id
         FROM interactions i JOIN unnest($1::text[], $2::text[]) AS d(source, external_id)
           ON d.source = i.source AND d.external_id = i.external_id`,
      [pgArray(duplicates.map((r) => r.source)), pgArray(duplicates.map((r) => r.externalId))],
    );
    for (const row of found) existing.set(`${row.source}\u0000${row.external_id}`, row.id);
  }
  const touched = [...new Set(customerIds.filter((_, i) => inserted.has(rows[i].key)))];
  if (touched.length > 0) {
    // The insert holds a FOR KEY SHARE lock on every touched customer until commit (its foreign key check), and a
    // refresh locks the customers it clears FOR UPDATE SKIP LOCKED: no refresh clears one of them before these rows
    // commit. A refresh that had the customer locked first made the insert wait until it committed, and this
    // statement's snapshot (taken after the insert) sees its cleared mark. Only customers not yet dirty are written.
    await manager.query(`UPDATE customers SET dirty_since = now() WHERE id = ANY($1::bigint[]) AND dirty_since IS NULL`, [pgArray(touched)]);
  }
  return { inserted, existing };
}

import type { DataSource, EntityManager } from 'typeorm';
import { ErrorCode, fail } from '../../errors/catalog';
import { abortUnwritten, checkText, RowProblems, type BatchMode, type RowError } from '../../errors/row-error';
import { inTransaction } from '../../infra/database';
import { present } from '../../infra/present';
import { auditRecords } from '../access';
import { toCustomerDemand, type CustomerLocator as CustomerRef } from '../customers';
import { isIdentifierProblem, normalizeIdentifier, type IdentifierInput } from '../customers';
import { TombstoneHasher } from '../customers';
import { IdentityRaceError, planCustomerResolution, resolveCustomers, SERIALIZE_AFTER_ATTEMPT, type CustomerDemand } from '../customers';
import { componentsOf } from '../scores';
import { RECOMMENDATION_REBUILD_TABLES } from '../recommendations';
import { REBUILD_TABLES } from '../scores';
import { SCORE_WRITERS_LOCK } from '../scores';
import { publish } from '../events';
import { NO_CUSTOMER } from '../events';
import type { MergeService } from '../merges';
import { CONSENT_STATUSES } from '../segments';

/** A consent's state: the values of `customer_consents.status` (its check constraint in migrations). */
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

export interface ConsentRow {
  customer: CustomerRef;
  purpose: string;
  channel?: string | null;
  status: ConsentStatus;
  source: string;
  recordedAt?: Date | null;
}

export interface ConsentRecord {
  customerId: string;
  purpose: string;
  channel: string;
  status: ConsentStatus;
  source: string;
  recordedAt: Date;
}

export interface ErasureReceipt {
  customerId: string;
  erasedAt: Date;
  tables: { table: string; rows: number }[];
  tombstones: number;
}

/** Tables that hold a customer's data: every table with a `customer_id` column, found in the catalog so new modules are covered. */
async function customerTables(manager: EntityManager | DataSource): Promise<string[]> {
  const rows: { table_name: string }[] = await manager.query(
    `SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND c.column_name = 'customer_id' AND t.table_type = 'BASE TABLE' ORDER BY c.table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** What replaces an error message that held an erased customer's value. */
export const ERASED_MESSAGE = '[erased: held personal data]';

/** Values shorter than this are not searched for in error messages: they would match unrelated text. */
const MIN_SCRUBBED_LENGTH = 3;

/**
 * Erases, from connector run errors and connections' last errors, every
 * message that contains one of `values` (case-insensitive): rows rejected
 * before the customer existed, or messages a plugin wrote, may have quoted
 * their identifiers or name. Rapport's own messages do not repeat values;
 * this covers older runs and plugin text.
 */
async function scrubRunErrors(manager: EntityManager, values: (string | null | undefined)[]): Promise<{ runs: number; connections: number }> {
  const needles = [
    ...new Set(values.filter((v): v is string => typeof v === 'string' && v.trim().length >= MIN_SCRUBBED_LENGTH).map((v) => v.trim().toLowerCase())),
  ];
  if (needles.length === 0) return { runs: 0, connections: 0 };
  const holds = (column: string) => `EXISTS (SELECT 1 FROM unnest($1::text[]) AS n(v) WHERE strpos(lower(${column}), n.v) > 0)`;
  const [, runs] = await manager.query(
    `UPDATE connector_runs SET
        errors = (SELECT jsonb_agg(CASE WHEN ${holds(`e->>'message'`)} THEN jsonb_set(e, '{message}', to_jsonb($2::text)) ELSE e END ORDER BY n)
                    FROM jsonb_array_elements(errors) WITH ORDINALITY AS x(e, n)),
        error = CASE WHEN ${holds('error')} THEN $2 ELSE error END
      WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(errors) AS x(e) WHERE ${holds(`e->>'message'`)}) OR ${holds('error')}`,
    [needles, ERASED_MESSAGE],
  );
  const [, connections] = await manager.query(`UPDATE connections SET last_error = $2 WHERE ${holds('last_error')}`, [needles, ERASED_MESSAGE]);
  return { runs: Number(runs ?? 0), connections: Number(connections ?? 0) };
}

/**
 * Data-protection requests: consent per purpose and channel, export of
 * everything held about a customer, and erasure everywhere it lives.
 */
export class PrivacyService {
  constructor(
    private readonly dataSource: DataSource,
    /** Consent changes re-evaluate the customers' segments (consent conditions). */
    private readonly requestRefresh: (customerIds: string[]) => Promise<void> = async () => undefined,
    /** How erased identifiers are hashed; the same hasher the ingest services check them with. */
    private readonly tombstones: TombstoneHasher = new TombstoneHasher(undefined),
    /** Merges: an erasure takes in every customer merged with the one named, and the merges' snapshots. */
    private readonly merges?: Pick<MergeService, 'survivorOf' | 'mergedInto' | 'forget'>,
  ) {}

  /**
   * Records consents; an older decision never overwrites a newer one (deliveries arrive out of order).
   *
   * A row naming its customer by identifiers that match nobody is rejected
   * (CUSTOMER_NOT_FOUND), unless `createMissing`: then the customer is created
   * with those identifiers and the decision recorded for it. The API passes
   * `createMissing` for callers without pii:read, whose answer must not depend
   * on whether the identifiers belong to someone: ACCEPTED either way, and an
   * ATOMIC batch commits or not for the same reasons.
   */
  async setConsents(rows: ConsentRow[], mode: BatchMode = 'ATOMIC', { createMissing = false }: { createMissing?: boolean } = {}) {
    const checked = rows.map((row) => {
      const p = new RowProblems();
      const purpose = checkText(p, ErrorCode.INVALID_FIELD, 'purpose', row.purpose, { max: 64, required: true });
      const channel = checkText(p, ErrorCode.INVALID_FIELD, 'channel', row.channel ?? '*', { max: 64, required: true });
      const source = checkText(p, ErrorCode.INVALID_FIELD, 'source', row.source, { max: 128, required: true });
      if (!CONSENT_STATUSES.includes(row.status)) p.add(ErrorCode.INVALID_FIELD, 'status', `status must be one of ${CONSENT_STATUSES.join(', ')}`);
      const demand = toCustomerDemand(p, 'customer', row.customer);
      return { purpose, channel, source, demand, recordedAt: row.recordedAt ?? new Date(), errors: p.errors };
    });
    const outcome = await inTransaction(
      this.dataSource,
      async (manager, attempt) => {
        // Per attempt: a retried transaction starts again from the validation's errors.
        const errors: RowError[][] = checked.map((v) => [...v.errors]);
        const demanded = checked.flatMap((v, rowIndex) => (v.errors.length === 0 && v.demand ? [{ rowIndex, demand: v.demand }] : []));
        const plan = await planCustomerResolution(
          manager,
          demanded.map(({ demand }) => ({ ...demand, profile: undefined })),
          { tombstones: this.tombstones },
        );
        const customerIds: (string | undefined)[] = rows.map(() => undefined);
        const missing: { rowIndex: number; identifiers: CustomerDemand['identifiers'] }[] = [];
        demanded.forEach(({ rowIndex, demand }, k) => {
          const r = plan.resolutions[k];
          if (!r.ok) errors[rowIndex].push({ code: r.code, field: `customer.${r.field}`, message: r.message });
          else if (!r.created) customerIds[rowIndex] = r.customerId;
          else if (createMissing) missing.push({ rowIndex, identifiers: demand.identifiers });
          else errors[rowIndex].push({ code: ErrorCode.CUSTOMER_NOT_FOUND, field: 'customer', message: 'no customer matches these identifiers' });
        });
        const results = rows.map((_, i) => ({ index: i, status: errors[i].length === 0 ? 'ACCEPTED' : 'REJECTED', errors: errors[i] }));
        const anyInvalid = results.some((r) => r.status === 'REJECTED');
        if (mode === 'ATOMIC' && anyInvalid) {
          abortUnwritten(results);
          return { committed: false, results };
        }
        if (missing.length > 0) {
          // Rows of one new person (shared identifiers) become one customer; a concurrent creator's customer is adopted.
          const created = await resolveCustomers(
            manager,
            missing.map(({ identifiers }) => ({ identifiers, profile: {} })),
            { serialize: attempt >= SERIALIZE_AFTER_ATTEMPT, adoptLostRaces: true, tombstones: this.tombstones },
            () => () => true,
          );
          if ('stop' in created) throw new Error('unreachable: the decision never stops');
          missing.forEach(({ rowIndex }, k) => {
            const r = created.resolutions[k];
            if (!r.ok) throw new IdentityRaceError(); // planned again: the identifiers changed since the first plan
            customerIds[rowIndex] = r.customerId;
          });
        }
        const ok = results.filter((r) => r.status === 'ACCEPTED').map((r) => r.index);
        if (ok.length === 0) return { committed: true, results, touched: [] as string[] };
        // Every accepted row was resolved above, to a customer found or created for it.
        const okCustomerIds = ok.map((i) => present(customerIds[i], `the customer of consent row ${i}`));
        await manager.query(
          `INSERT INTO customer_consents AS c (customer_id, purpose, channel, status, source, recorded_at)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
           ON CONFLICT (customer_id, purpose, channel) DO UPDATE
             SET status = EXCLUDED.status, source = EXCLUDED.source, recorded_at = EXCLUDED.recorded_at
             WHERE c.recorded_at <= EXCLUDED.recorded_at`,
          [
            okCustomerIds,
            ok.map((i) => checked[i].purpose),
            ok.map((i) => checked[i].channel),
            ok.map((i) => rows[i].status),
            ok.map((i) => checked[i].source),
            ok.map((i) => checked[i].recordedAt.toISOString()),
          ],
        );
        const touched = [...new Set(okCustomerIds)];
        await manager.query(
          `UPDATE customers c SET dirty_since = COALESCE(c.dirty_since, now())
             FROM (SELECT id FROM customers WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE) AS locked WHERE c.id = locked.id`,
          [touched],
        );
        auditRecords('customer', touched);
        return { committed: true, results, touched };
      },
      { isRetryable: (e) => e instanceof IdentityRaceError },
    );
    const touched = 'touched' in outcome ? (outcome.touched ?? []) : [];
    if (touched.length) await this.requestRefresh(touched).catch(() => undefined);
    return { committed: outcome.committed, results: outcome.results };
  }

  async consentsOf(customerIds: readonly string[]): Promise<ConsentRecord[][]> {
    const rows: ConsentRecord[] = await this.dataSource.query(
      `SELECT customer_id::text AS "customerId", purpose, channel, status, source, recorded_at AS "recordedAt"
         FROM customer_consents WHERE customer_id = ANY($1::bigint[]) ORDER BY purpose, channel`,
      [customerIds],
    );
    return customerIds.map((id) => rows.filter((r) => r.customerId === id));
  }

  /** Everything Rapport holds about a customer, as one JSON document. */
  async exportCustomer(customerId: string): Promise<Record<string, unknown>> {
    const [customer] = await this.dataSource.query(`SELECT * FROM customers WHERE id = $1 AND deleted_at IS NULL`, [customerId]);
    if (!customer) throw fail('NOT_FOUND', { detail: `no customer ${customerId}` }, 'id');
    const tables: Record<string, unknown[]> = {};
    for (const table of await customerTables(this.dataSource)) {
      // What a recompute is writing (scores, and the history they supersede) is not held yet: until its swap, the export shows the current scores and history.
      if (REBUILD_TABLES.includes(table) || RECOMMENDATION_REBUILD_TABLES.includes(table)) continue;
      const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT * FROM "${table}" WHERE customer_id = $1`, [customerId]);
      // Scores store their figures as the kind's numbers: the export shows them as the API does, as components.
      tables[table] =
        table === 'scores' || table === 'score_history'
          ? rows.map(({ components, component_values: values, component_keys: keys, ...row }) => ({
              ...row,
              components: componentsOf(String(row.kind), components as Record<string, unknown> | null, values as number[], keys as string[] | null),
            }))
          : rows;
    }
    const members = await this.dataSource.query(`SELECT id::text FROM customers WHERE organization_id = $1`, [customerId]);
    return { exportedAt: new Date().toISOString(), customer, members: members.map((m: { id: string }) => m.id), tables };
  }

  /**
   * Removes the customer's personal data from every table in one transaction,
   * tombstones its identifiers (hashed) so a late delivery cannot silently
   * re-create the person, and returns counts per table. Publishes
   * `customer.erased` (the scores module recomputes on it).
   */
  async eraseCustomer(customerId: string): Promise<ErasureReceipt> {
    return inTransaction(this.dataSource, async (manager) => {
      // A merged customer is one person with its survivor: erasing either erases the survivor and everything merged into it,
      // with the snapshots kept to undo those merges.
      const survivor = this.merges ? ((await this.merges.survivorOf(manager, customerId)) ?? customerId) : customerId;
      const family = this.merges ? [survivor, ...(await this.merges.mergedInto(manager, survivor))] : [customerId];
      const [customer] = await manager.query(`SELECT id FROM customers WHERE id = $1 FOR UPDATE`, [survivor]);
      if (!customer) throw fail('NOT_FOUND', { detail: `no customer ${customerId}` }, 'id');
      // Score writers hold this lock shared while they write: wait for those running, keep new ones out until committed.
      await manager.query(`SELECT pg_advisory_xact_lock(${SCORE_WRITERS_LOCK})`);
      const forgotten = this.merges ? await this.merges.forget(manager, family) : 0;
      const counts = new Map<string, number>();
      let tombstones = 0;
      for (const id of family) {
        const one = await this.eraseOne(manager, id);
        tombstones += one.tombstones;
        for (const { table, rows } of one.tables) counts.set(table, (counts.get(table) ?? 0) + rows);
      }
      if (forgotten) counts.set('customer_merges', forgotten);
      return { customerId, erasedAt: new Date(), tables: [...counts].map(([table, rows]) => ({ table, rows })), tombstones };
    });
  }

  /** Erases one customer's rows, inside {@link eraseCustomer}'s transaction. */
  private async eraseOne(manager: EntityManager, customerId: string): Promise<{ tables: { table: string; rows: number }[]; tombstones: number }> {
    const [customer] = await manager.query(`SELECT id, display_name FROM customers WHERE id = $1 FOR UPDATE`, [customerId]);
    if (!customer) return { tables: [], tombstones: 0 };
    const identifiers: { type: string; value: string }[] = await manager.query(`SELECT type, value FROM customer_identifiers WHERE customer_id = $1`, [
      customerId,
    ]);
    if (identifiers.length) {
      await manager.query(`INSERT INTO identifier_tombstones (type, value_hash) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [
        identifiers.map((i) => i.type),
        identifiers.map((i) => this.tombstones.hash(i)),
      ]);
    }
    const scrubbed = await scrubRunErrors(manager, [...identifiers.map((i) => i.value), customer.display_name]);
    const tables: { table: string; rows: number }[] = [];
    const holding = await customerTables(manager);
    const segmentIds: string[] = holding.includes('segment_memberships')
      ? (await manager.query(`SELECT segment_id::text AS id FROM segment_memberships WHERE customer_id = $1`, [customerId])).map((r: { id: string }) => r.id)
      : [];
    for (const table of holding) {
      const [, count] = await manager.query(`DELETE FROM "${table}" WHERE customer_id = $1`, [customerId]);
      tables.push({ table, rows: Number(count ?? 0) });
    }
    if (segmentIds.length) {
      // Segment sizes shrink with the erased member, in the same transaction.
      await manager.query(
        `UPDATE segments s SET size = (SELECT count(*) FROM segment_memberships m WHERE m.segment_id = s.id) WHERE s.id = ANY($1::bigint[])`,
        [segmentIds],
      );
    }
    const [, members] = await manager.query(`UPDATE customers SET organization_id = NULL WHERE organization_id = $1`, [customerId]);
    const [, removed] = await manager.query(`DELETE FROM customers WHERE id = $1`, [customerId]);
    // The customer's own partition of the outbox was emptied with its other tables above: the event goes to the non-customer partition.
    await publish(manager, 'customer.erased', [{ customerId: NO_CUSTOMER, payload: { customerId } }]);
    tables.push({ table: 'customers', rows: Number(removed ?? 0) });
    if (Number(members)) tables.push({ table: 'customers (organisation links cleared)', rows: Number(members) });
    if (scrubbed.runs) tables.push({ table: 'connector_runs (error messages erased)', rows: scrubbed.runs });
    if (scrubbed.connections) tables.push({ table: 'connections (last error erased)', rows: scrubbed.connections });
    return { tables, tombstones: identifiers.length };
  }

  /** Allows an erased identifier again, after a fresh consent was obtained (audited). */
  async liftTombstone(input: IdentifierInput): Promise<boolean> {
    const identifier = normalizeIdentifier(input);
    if (isIdentifierProblem(identifier)) throw fail('INVALID_IDENTIFIER', { detail: identifier.message }, `identifier.${identifier.field}`);
    return inTransaction(this.dataSource, async (manager) => {
      const [, count] = await manager.query(`DELETE FROM identifier_tombstones WHERE type = $1 AND value_hash = ANY($2::text[])`, [
        identifier.type,
        this.tombstones.candidates(identifier),
      ]);
      return Number(count) > 0;
    });
  }
}

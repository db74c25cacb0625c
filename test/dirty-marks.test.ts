import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inTransaction } from '../src/infra/database';
import type { InteractionRow } from '../src/modules/interactions/ingest.service';
import { eventually, startTestApp, type TestApp } from './helpers/app';

/**
 * The dirty mark is what brings a customer's stats and scores up to date:
 * however an ingest and a `customer.refresh` interleave, a customer whose new
 * interactions the refresh did not count must still be dirty when both have
 * committed. These tests hold one side open at the racy moment, on real
 * Postgres transactions, for the API's ingest and for the bulk file import.
 */
const EMAIL = 'race@example.com';
const dir = mkdtempSync(path.join(tmpdir(), 'rapport-dirty-'));

let app: TestApp;
/** While set, every refresh waits inside its transaction (after computing the stats, before clearing the mark). */
let gate: { entered: () => void; release: Promise<void> } | null = null;

beforeAll(async () => {
  app = await startTestApp({ workers: false });
  app.runtime.services.events.subscribeInTransaction('customers.refreshed', 'test.gate', async () => {
    if (!gate) return;
    gate.entered();
    await gate.release;
  });
});
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

let sequence = 0;
const row = (): InteractionRow => ({
  customer: { identifiers: [{ type: 'email', value: EMAIL }] },
  channel: 'web',
  type: 'page_view',
  occurredAt: new Date(Date.now() - 60_000),
  source: 'dirty-test',
  externalId: `row-${++sequence}`,
});

async function state(): Promise<{ id: string; dirty: boolean; counted: number; stored: number }> {
  const [s] = await app.sql<{ id: string; dirty: boolean; counted: number | null; stored: number }>(
    `SELECT c.id::text, c.dirty_since IS NOT NULL AS dirty, st.interaction_count AS counted,
            (SELECT count(*)::int FROM interactions i WHERE i.customer_id = c.id) AS stored
       FROM customer_identifiers ci JOIN customers c ON c.id = ci.customer_id LEFT JOIN customer_stats st ON st.customer_id = c.id
      WHERE ci.type = 'email' AND ci.value = $1`,
    [EMAIL],
  );
  return { id: s!.id, dirty: s!.dirty, counted: s!.counted ?? 0, stored: s!.stored };
}

async function waitingOnLock(): Promise<void> {
  await eventually(async () => {
    const [w] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    return w!.n > 0 ? true : undefined;
  });
}

/** Starts a refresh of the customer that stops inside its transaction; resolves once it is there. */
async function refreshHeldOpen(id: string): Promise<{ release: () => void; done: Promise<number> }> {
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  gate = { entered, release: new Promise<void>((resolve) => (release = resolve)) };
  const done = app.runtime.services.stats.refreshCustomers([id]);
  await inside;
  return {
    release: () => {
      gate = null;
      release();
    },
    done,
  };
}

test('a refresh while an ingest of an already dirty customer is uncommitted skips that customer; it stays dirty until counted', async () => {
  await app.runtime.services.ingest.recordInteractions([row()]);
  const before = await state();
  expect(before.dirty).toBe(true);

  // The ingest writes a second row for the (already dirty) customer and stays uncommitted.
  let commit!: () => void;
  let written!: () => void;
  const inserted = new Promise<void>((resolve) => (written = resolve));
  const ingest = inTransaction(app.dataSource, async () => {
    await app.runtime.services.ingest.recordInteractions([row()]);
    written();
    await new Promise<void>((resolve) => (commit = resolve));
  });
  await inserted;
  // The refresh cannot count the uncommitted row, so it must not clear the mark: it leaves the customer alone.
  expect(await app.runtime.services.stats.refreshCustomers([before.id])).toBe(0);
  commit();
  await ingest;
  expect(await state()).toMatchObject({ dirty: true, stored: 2 });

  expect(await app.runtime.services.stats.refreshCustomers([before.id])).toBe(1);
  expect(await state()).toMatchObject({ dirty: false, counted: 2, stored: 2 });
});

test('an ingest that waits for a running refresh marks the customer dirty again once the refresh has cleared it', async () => {
  await app.runtime.services.ingest.recordInteractions([row()]);
  const before = await state();
  expect(before).toMatchObject({ dirty: true, stored: 3 });

  const refresh = await refreshHeldOpen(before.id);
  const ingest = app.runtime.services.ingest.recordInteractions([row()]);
  await waitingOnLock();
  refresh.release();
  expect(await refresh.done).toBe(1);
  const result = await ingest;
  expect(result.accepted).toBe(1);
  // The refresh counted 3 rows and cleared the mark; the 4th row committed after it and marked the customer again.
  expect(await state()).toMatchObject({ dirty: true, counted: 3, stored: 4 });
  await app.runtime.services.stats.refreshCustomers([before.id]);
  expect(await state()).toMatchObject({ dirty: false, counted: 4, stored: 4 });
});

test('a file import that waits for a running refresh marks the customer dirty again once the refresh has cleared it', async () => {
  await app.runtime.services.ingest.recordInteractions([row()]);
  const before = await state();
  expect(before).toMatchObject({ dirty: true, stored: 5 });

  const file = path.join(dir, 'one-row.csv');
  writeFileSync(
    file,
    `email,channel,type,occurred_at,source,external_id\n${EMAIL},web,page_view,${new Date(Date.now() - 60_000).toISOString()},dirty-test,file-row-1\n`,
  );
  const refresh = await refreshHeldOpen(before.id);
  const imported = app.runtime.services.connectors.imports.importFile(file);
  await waitingOnLock();
  refresh.release();
  expect(await refresh.done).toBe(1);
  expect(await imported).toMatchObject({ status: 'SUCCEEDED', accepted: 1 });
  expect(await state()).toMatchObject({ dirty: true, counted: 5, stored: 6 });
  await app.runtime.services.stats.refreshCustomers([before.id]);
  expect(await state()).toMatchObject({ dirty: false, counted: 6, stored: 6 });
});

test('a refresh while a file import is merging an already dirty customer cannot leave it clean with uncounted rows', async () => {
  const before = await state();
  await app.sql(`UPDATE customers SET dirty_since = now() WHERE id = $1`, [before.id]);
  // The import's merge stops on a lock held here (on the interactions' unique key), after the customer was resolved.
  const blocker = app.dataSource.createQueryRunner();
  await blocker.connect();
  await blocker.startTransaction();
  await blocker.query(
    `INSERT INTO interactions (customer_id, channel, type, occurred_at, source, external_id) VALUES ($1, 'web', 'page_view', now(), 'dirty-test', 'file-row-3')`,
    [before.id],
  );
  const file = path.join(dir, 'two-rows.csv');
  const at = new Date(Date.now() - 60_000).toISOString();
  writeFileSync(
    file,
    `email,channel,type,occurred_at,source,external_id\n${EMAIL},web,page_view,${at},dirty-test,file-row-2\n${EMAIL},web,page_view,${at},dirty-test,file-row-3\n`,
  );
  const imported = app.runtime.services.connectors.imports.importFile(file);
  await waitingOnLock();
  // The merge has inserted file-row-2 (uncommitted) and waits: a refresh now cannot count it. Whether it skips the
  // customer or refreshes and clears it, the import must leave the customer dirty once it commits.
  await app.runtime.services.stats.refreshCustomers([before.id]);
  await blocker.rollbackTransaction();
  await blocker.release();
  expect(await imported).toMatchObject({ status: 'SUCCEEDED', accepted: 2 });
  expect(await state()).toMatchObject({ dirty: true, stored: 8 });
  await app.runtime.services.stats.refreshCustomers([before.id]);
  expect(await state()).toMatchObject({ dirty: false, counted: 8, stored: 8 });
});

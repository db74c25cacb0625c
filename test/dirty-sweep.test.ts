import { startTestApp, type TestApp } from './helpers/app';

/**
 * The dirty sweep is the safety net that brings every dirty customer up to
 * date when a refresh job was lost. It pages through the dirty customers by id:
 * a page must end at the numerically largest id it holds, or customers whose
 * ids sort differently as text (2…9 after 13) are passed over for good.
 */
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ workers: false });
});
afterAll(async () => {
  await app.close();
});

test('the sweep refreshes every dirty customer across pages, whatever the width of their ids', async () => {
  await app.sql(
    `INSERT INTO customers (display_name, dirty_since)
     SELECT 'Sweep ' || n, now() - interval '1 hour' FROM generate_series(1, 25) AS n`,
  );
  const refreshed = await app.runtime.services.stats.sweepDirty({ graceMs: 0, batchSize: 5 });
  const [left] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM customers WHERE dirty_since IS NOT NULL`);
  expect({ refreshed, stillDirty: left!.n }).toEqual({ refreshed: 25, stillDirty: 0 });
});

import { commitBatch } from '../src/modules/connectors/batch-commit';
import { startTestApp, type TestApp } from './helpers/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const batch = (email: string, occurredAt: string) => ({
  customers: [{ identifiers: [{ type: 'email', value: email }], displayName: 'Atomic Anna' }],
  interactions: [{ customer: { identifiers: [{ type: 'email', value: email }] }, channel: 'web', type: 'page_view', occurredAt, externalId: `${email}-1` }],
});

describe('a connector batch commits customers and interactions together', () => {
  test('ATOMIC: an interaction the ingest service rejects rolls the batch’s customers back too', async () => {
    const { ingest, customers, privacy, dataSource } = app.runtime.services;
    // The schema accepts a far-future timestamp; the ingest service refuses it.
    const counts = await commitBatch(
      { ingest, customers, privacy, dataSource },
      batch('atomic@example.com', '2999-01-01T00:00:00Z'),
      'connector:test',
      'ATOMIC',
    );
    expect(counts).toMatchObject({ committed: false, accepted: 0, rejected: 1 });
    expect(counts.errors[0]).toMatchObject({ path: 'interactions[0].occurredAt', code: 'INVALID_FIELD' });
    expect(await app.sql(`SELECT 1 FROM customer_identifiers WHERE value = 'atomic@example.com'`)).toEqual([]);
    expect(await app.sql(`SELECT 1 FROM customers WHERE display_name = 'Atomic Anna'`)).toEqual([]);
  });

  test('a valid batch writes both', async () => {
    const { ingest, customers, privacy, dataSource } = app.runtime.services;
    const counts = await commitBatch(
      { ingest, customers, privacy, dataSource },
      batch('together@example.com', '2026-01-01T00:00:00Z'),
      'connector:test',
      'ATOMIC',
    );
    expect(counts).toMatchObject({ committed: true, accepted: 2, rejected: 0 });
    const rows = await app.sql(
      `SELECT c.display_name FROM customers c JOIN interactions i ON i.customer_id = c.id WHERE i.external_id = 'together@example.com-1'`,
    );
    expect(rows).toEqual([{ display_name: 'Atomic Anna' }]);
  });
});

describe('connectors record consent', () => {
  test('a batch can create a customer and record its consent; an unknown customer rejects the ATOMIC batch', async () => {
    const { ingest, customers, privacy, dataSource } = app.runtime.services;
    const targets = { ingest, customers, privacy, dataSource };
    const ok = await commitBatch(
      targets,
      {
        customers: [{ identifiers: [{ type: 'email', value: 'optout@example.com' }] }],
        consents: [
          {
            customer: { identifiers: [{ type: 'email', value: 'optout@example.com' }] },
            purpose: 'marketing',
            channel: 'email',
            status: 'WITHDRAWN',
            recordedAt: '2026-11-01T00:00:00Z',
          },
        ],
      },
      'connector:esp',
      'ATOMIC',
    );
    expect(ok).toMatchObject({ committed: true, accepted: 2 });
    const [consent] = await app.sql(
      `SELECT status, source FROM customer_consents cc JOIN customer_identifiers i USING (customer_id) WHERE i.value = 'optout@example.com'`,
    );
    expect(consent).toEqual({ status: 'WITHDRAWN', source: 'connector:esp' });

    const refused = await commitBatch(
      targets,
      {
        interactions: [
          {
            customer: { identifiers: [{ type: 'email', value: 'ghost-click@example.com' }] },
            channel: 'email',
            type: 'click',
            occurredAt: '2026-11-01T00:00:00Z',
            externalId: 'ghost-1',
          },
        ],
        consents: [{ customer: { identifiers: [{ type: 'email', value: 'never-seen@example.com' }] }, purpose: 'marketing', status: 'GRANTED' }],
      },
      'connector:esp',
      'ATOMIC',
    );
    expect(refused).toMatchObject({ committed: false });
    expect(refused.errors[0]).toMatchObject({ path: 'consents[0].customer', code: 'CUSTOMER_NOT_FOUND' });
    expect(await app.sql(`SELECT 1 FROM interactions WHERE external_id = 'ghost-1'`)).toEqual([]);
  });
});

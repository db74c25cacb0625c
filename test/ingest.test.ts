import request from 'supertest';
import { RecordInteractionsDocument, UpsertCustomersDocument, type InteractionInput } from './generated/graphql';
import { inTransaction } from '../src/infra/database';
import { eventually, startTestApp, type TestApp } from './helpers/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const purchase = (externalId: string, email: string, extra: Partial<InteractionInput> = {}): InteractionInput => ({
  customer: { identifiers: [{ type: 'email', value: email }] },
  channel: 'payment',
  type: 'purchase',
  occurredAt: '2026-10-01T12:00:00Z',
  value: 19.9,
  currency: 'eur',
  source: 'shop',
  externalId,
  ...extra,
});

/** Customers without any identifier: what a lost identity race must never leave behind. */
const orphans = () => count('customers c', 'NOT EXISTS (SELECT 1 FROM customer_identifiers i WHERE i.customer_id = c.id)');

/**
 * Runs `loser` while another transaction has created the customer of `email`
 * (with interaction `externalId`) and holds it uncommitted; commits that one
 * once the loser waits on its identifier, and returns the loser's answer.
 */
async function raceFor<T>(email: string, externalId: string, loser: () => Promise<T>): Promise<T> {
  let commit!: () => void;
  let written!: () => void;
  const inserted = new Promise<void>((resolve) => (written = resolve));
  const winner = inTransaction(app.dataSource, async () => {
    const won = await app.runtime.services.ingest.recordInteractions([
      {
        customer: { identifiers: [{ type: 'email', value: email }] },
        channel: 'payment',
        type: 'purchase',
        occurredAt: new Date('2026-10-01T12:00:00Z'),
        value: 19.9,
        currency: 'EUR',
        source: 'shop',
        externalId,
      },
    ]);
    expect(won.accepted).toBe(1);
    written();
    await new Promise<void>((resolve) => (commit = resolve));
  });
  await inserted;
  const answer = loser();
  await eventually(async () => {
    const [w] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    return w!.n > 0 ? true : undefined;
  });
  commit();
  await winner;
  return answer;
}

async function count(table: string, where = 'TRUE', params: unknown[] = []): Promise<number> {
  const [row] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
  return row.n;
}

describe('recordInteractions', () => {
  test('creates the customer from a normalised identifier and stores the interaction', async () => {
    const { data } = await app.graphql(RecordInteractionsDocument, { input: [purchase('o-1', '  Ada.Lovelace@Example.COM ')] });
    expect(data!.recordInteractions).toMatchObject({ committed: true, accepted: 1, duplicates: 0, rejected: 0 });
    const [identifier] = await app.sql<{ value: string }>(`SELECT value FROM customer_identifiers WHERE type = 'email' AND value LIKE 'ada.%'`);
    expect(identifier.value).toBe('ada.lovelace@example.com');
    const [stored] = await app.sql<{ currency: string; value: string; dirty: boolean }>(
      `SELECT i.currency, i.value::text, c.dirty_since IS NOT NULL AS dirty FROM interactions i JOIN customers c ON c.id = i.customer_id WHERE external_id = 'o-1'`,
    );
    expect(stored).toEqual({ currency: 'EUR', value: '19.9000', dirty: true });
  });

  test('the same delivery sent three times stores one interaction and reports duplicates', async () => {
    const input = [purchase('o-dup', 'grace@example.com')];
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await app.graphql(RecordInteractionsDocument, { input })).data!.recordInteractions);
    expect(results.map((r) => [r.accepted, r.duplicates])).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    expect(results[2].results[0].id).toBe(results[0].results[0].id);
    expect(await count('interactions', `external_id = 'o-dup'`)).toBe(1);
  });

  test('a repeat inside one batch is a duplicate of the first row', async () => {
    const { data } = await app.graphql(RecordInteractionsDocument, {
      input: [purchase('o-twice', 'alan@example.com'), purchase('o-twice', 'alan@example.com')],
    });
    expect(data!.recordInteractions.results.map((r) => r.status)).toEqual(['ACCEPTED', 'DUPLICATE']);
    expect(data!.recordInteractions.results[1].id).toBe(data!.recordInteractions.results[0].id);
  });

  test('ATOMIC: one invalid row rejects the batch, reports every bad row, and writes nothing', async () => {
    const before = [await count('customers'), await count('interactions'), await count('customer_identifiers')];
    const { data } = await app.graphql(RecordInteractionsDocument, {
      input: [
        purchase('a-1', 'new-one@example.com'),
        purchase('a-2', 'not-an-email'),
        purchase('a-3', 'new-two@example.com', { sentiment: 3 }),
        purchase('a-4', 'new-three@example.com', { occurredAt: '2999-01-01T00:00:00Z' }),
      ],
    });
    const payload = data!.recordInteractions;
    expect(payload).toMatchObject({ committed: false, accepted: 0, rejected: 4 });
    expect(payload.results.map((r) => r.errors[0].code)).toEqual(['BATCH_ABORTED', 'INVALID_IDENTIFIER', 'INVALID_FIELD', 'INVALID_FIELD']);
    expect(payload.results.map((r) => r.errors[0].field)).toEqual([null, 'customer.identifiers[0].value', 'sentiment', 'occurredAt']);
    expect([await count('customers'), await count('interactions'), await count('customer_identifiers')]).toEqual(before);
  });

  test('PER_ROW writes the valid rows and reports the rest', async () => {
    const { data } = await app.graphql(RecordInteractionsDocument, {
      mode: 'PER_ROW',
      input: [purchase('p-1', 'katherine@example.com'), purchase('p-2', 'katherine@example.com', { channel: 'Not A Channel!' })],
    });
    expect(data!.recordInteractions).toMatchObject({ committed: true, accepted: 1, rejected: 1 });
    expect(data!.recordInteractions.results[1].errors[0]).toMatchObject({ code: 'INVALID_FIELD', field: 'channel' });
    expect(await count('interactions', `external_id IN ('p-1', 'p-2')`)).toBe(1);
  });

  test('rows sharing identifiers land on one customer; a phone is stored in E.164', async () => {
    const { data } = await app.graphql(RecordInteractionsDocument, {
      input: [
        {
          ...purchase('s-1', 'linus@example.com'),
          customer: {
            identifiers: [
              { type: 'email', value: 'linus@example.com' },
              { type: 'phone', value: '+1 (415) 555-2671' },
            ],
          },
        },
        { ...purchase('s-2', 'x'), customer: { identifiers: [{ type: 'phone', value: '+14155552671' }] } },
        {
          ...purchase('s-3', 'x'),
          customer: {
            identifiers: [
              { type: 'shopify', value: ' 991 ' },
              { type: 'email', value: 'LINUS@example.com' },
            ],
          },
        },
      ],
    });
    const ids = data!.recordInteractions.results.map((r) => r.customerId);
    expect(new Set(ids).size).toBe(1);
    const identifiers = await app.sql<{ type: string; value: string }>(
      `SELECT type, value FROM customer_identifiers WHERE customer_id = (SELECT customer_id FROM interactions WHERE external_id = 's-1') ORDER BY type`,
    );
    expect(identifiers).toEqual([
      { type: 'email', value: 'linus@example.com' },
      { type: 'phone', value: '+14155552671' },
      { type: 'shopify', value: '991' },
    ]);
  });

  test('identifiers of two different existing customers are a per-row IDENTITY_CONFLICT, never a silent pick', async () => {
    await app.graphql(RecordInteractionsDocument, { input: [purchase('c-1', 'margaret@example.com'), purchase('c-2', 'dennis@example.com')] });
    const { data } = await app.graphql(RecordInteractionsDocument, {
      mode: 'PER_ROW',
      input: [
        {
          ...purchase('c-3', 'x'),
          customer: {
            identifiers: [
              { type: 'email', value: 'margaret@example.com' },
              { type: 'email', value: 'dennis@example.com' },
            ],
          },
        },
      ],
    });
    expect(data!.recordInteractions.results[0]).toMatchObject({ status: 'REJECTED', errors: [{ code: 'IDENTITY_CONFLICT', field: 'customer.identifiers' }] });
    expect(await count('interactions', `external_id = 'c-3'`)).toBe(0);
  });

  test('a customer named by an unknown id is rejected with CUSTOMER_NOT_FOUND', async () => {
    const { data } = await app.graphql(RecordInteractionsDocument, {
      mode: 'PER_ROW',
      input: [{ ...purchase('n-1', 'x'), customer: { id: Buffer.from('Customer:999999').toString('base64') } }],
    });
    expect(data!.recordInteractions.results[0].errors[0]).toMatchObject({ code: 'CUSTOMER_NOT_FOUND', field: 'customer.id' });
  });

  test('over-long strings, NUL characters and non-object properties name the field', async () => {
    const { data } = await app.graphql(RecordInteractionsDocument, {
      mode: 'PER_ROW',
      input: [
        purchase('x'.repeat(300), 'long@example.com'),
        purchase('prop-1', 'prop@example.com', { properties: [1, 2] }),
        purchase('cur-1', 'cur@example.com', { currency: 'euro' }),
      ],
    });
    expect(data!.recordInteractions.results.map((r) => r.errors[0].field)).toEqual(['externalId', 'properties', 'currency']);
    // Text Postgres cannot store is refused for the whole request, before any SQL.
    const nul = await app.graphql(RecordInteractionsDocument, {
      mode: 'PER_ROW',
      input: [purchase('nul-0', 'nul@example.com'), purchase('nul-1', 'nul@example.com', { source: 'sh\u0000op' })],
    });
    expect(nul.errors?.map((e) => e.extensions)).toEqual([{ code: 'INVALID_TEXT', field: '$input[1].source' }]);
  });

  test('hostile strings are stored verbatim, never interpreted as SQL', async () => {
    const hostile = `'); DROP TABLE customers; --`;
    const { data } = await app.graphql(RecordInteractionsDocument, {
      input: [purchase(hostile, 'bobby@example.com', { properties: { note: hostile }, source: hostile })],
    });
    expect(data!.recordInteractions.accepted).toBe(1);
    const [row] = await app.sql<{ external_id: string }>(`SELECT external_id FROM interactions WHERE source = $1`, [hostile]);
    expect(row.external_id).toBe(hostile);
  });

  test('a batch that loses the race for a new customer waits for the winner and uses its customer: no duplicate, no orphan', async () => {
    const orphansBefore = await orphans();
    const { data } = await raceFor('race-a@example.com', 'race-1', () =>
      app.graphql(RecordInteractionsDocument, { input: [purchase('race-2', 'race-a@example.com'), purchase('race-3', 'race-b@example.com')] }),
    );
    expect(data!.recordInteractions).toMatchObject({ committed: true, accepted: 2, rejected: 0 });
    const owners = await app.sql<{ value: string; customer_id: string; n: number }>(
      `SELECT ci.value, ci.customer_id::text, (SELECT count(*)::int FROM interactions i WHERE i.customer_id = ci.customer_id) AS n
         FROM customer_identifiers ci WHERE ci.value IN ('race-a@example.com', 'race-b@example.com') ORDER BY ci.value`,
    );
    expect(owners.map((o) => [o.value, o.n])).toEqual([
      ['race-a@example.com', 2],
      ['race-b@example.com', 1],
    ]);
    const [first] = await app.sql<{ customer_id: string }>(`SELECT customer_id::text FROM interactions WHERE external_id = 'race-1'`);
    expect(first!.customer_id).toBe(owners[0]!.customer_id);
    expect(data!.recordInteractions.results[0]!.customerId).not.toBe(data!.recordInteractions.results[1]!.customerId);
    expect(await orphans()).toBe(orphansBefore);
  });

  test('a row that loses one of its identifiers to a concurrent batch joins the winner’s customer with all of them', async () => {
    const orphansBefore = await orphans();
    const row = purchase('race-6', 'race-e@example.com', {
      customer: {
        identifiers: [
          { type: 'email', value: 'race-e@example.com' },
          { type: 'phone', value: '+44 20 7946 0958' },
        ],
      },
    });
    const { data } = await raceFor('race-e@example.com', 'race-5', () => app.graphql(RecordInteractionsDocument, { input: [row] }));
    expect(data!.recordInteractions).toMatchObject({ committed: true, accepted: 1, rejected: 0 });
    const owners = await app.sql<{ type: string; customer_id: string }>(
      `SELECT type, customer_id::text FROM customer_identifiers WHERE value IN ('race-e@example.com', '+442079460958') ORDER BY type`,
    );
    const [winner] = await app.sql<{ customer_id: string }>(`SELECT customer_id::text FROM interactions WHERE external_id = 'race-5'`);
    expect(owners).toEqual([
      { type: 'email', customer_id: winner!.customer_id },
      { type: 'phone', customer_id: winner!.customer_id },
    ]);
    expect(await count('interactions', `external_id = 'race-6' AND customer_id = $1`, [winner!.customer_id])).toBe(1);
    expect(await orphans()).toBe(orphansBefore);
  });

  test('an upsert that loses the race for a new customer updates the winner’s customer: no duplicate, no orphan', async () => {
    const orphansBefore = await orphans();
    const { data } = await raceFor('race-c@example.com', 'race-4', () =>
      app.graphql(UpsertCustomersDocument, {
        input: [
          { identifiers: [{ type: 'email', value: 'race-c@example.com' }], displayName: 'Racer' },
          { identifiers: [{ type: 'email', value: 'race-d@example.com' }], displayName: 'Newcomer' },
        ],
      }),
    );
    expect(data!.upsertCustomers).toMatchObject({ committed: true, created: 1, updated: 1, rejected: 0 });
    expect(data!.upsertCustomers.results.map((r) => r.status)).toEqual(['UPDATED', 'CREATED']);
    const [winner] = await app.sql<{ customer_id: string; display_name: string }>(
      `SELECT i.customer_id::text, c.display_name FROM interactions i JOIN customers c ON c.id = i.customer_id WHERE i.external_id = 'race-4'`,
    );
    expect(winner!.display_name).toBe('Racer');
    expect(await count('customer_identifiers', `value = 'race-c@example.com' AND customer_id = $1`, [winner!.customer_id])).toBe(1);
    expect(await orphans()).toBe(orphansBefore);
  });

  test('string literals written into the document are data, never code, whatever their shape', async () => {
    // graphql-jit (which runs this mutation from variables) would turn a literal shaped like its date marker into code.
    const payload = `__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d0)+(globalThis.rapportInjected='yes')+(0`;
    const res = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({
        query: `mutation { recordInteractions(input: [{ customer: { identifiers: [{ type: "email", value: "literal@example.com" }] },
          channel: "web", type: "page_view", occurredAt: "2026-10-01T12:00:00Z", source: ${JSON.stringify(payload)}, externalId: "lit-1" }]) { accepted } }`,
      });
    expect(res.body.data.recordInteractions.accepted).toBe(1);
    expect((globalThis as { rapportInjected?: string }).rapportInjected).toBeUndefined();
    const [row] = await app.sql<{ source: string }>(`SELECT source FROM interactions WHERE external_id = 'lit-1'`);
    expect(row.source).toBe(payload);
  });

  test('every field of a row result answers on the compiled path: global ids, the first error, null where nothing applies', async () => {
    const query = `mutation($input: [InteractionInput!]!, $mode: BatchMode) { recordInteractions(input: $input, mode: $mode) {
      committed accepted duplicates rejected results { index status id customerId error { code field message } errors { code field message } } } }`;
    const send = (input: InteractionInput[], mode: 'ATOMIC' | 'PER_ROW') =>
      request(app.handler).post('/graphql').set('authorization', app.auth).send({ query, variables: { input, mode } });
    const aborted = await send([purchase('shape-1', 'shape@example.com'), purchase('shape-2', 'shape@example.com', { currency: 'euros' })], 'ATOMIC');
    expect(aborted.body.data.recordInteractions).toEqual({
      committed: false,
      accepted: 0,
      duplicates: 0,
      rejected: 2,
      results: [
        {
          index: 0,
          status: 'REJECTED',
          id: null,
          customerId: null,
          error: { code: 'BATCH_ABORTED', field: null, message: 'not written: other rows of this ATOMIC batch are invalid' },
          errors: [{ code: 'BATCH_ABORTED', field: null, message: 'not written: other rows of this ATOMIC batch are invalid' }],
        },
        {
          index: 1,
          status: 'REJECTED',
          id: null,
          customerId: null,
          error: { code: 'INVALID_FIELD', field: 'currency', message: 'currency must be a three-letter ISO 4217 code' },
          errors: [{ code: 'INVALID_FIELD', field: 'currency', message: 'currency must be a three-letter ISO 4217 code' }],
        },
      ],
    });
    const written = await send([purchase('shape-1', 'shape@example.com'), purchase('shape-1', 'shape@example.com')], 'PER_ROW');
    const [stored] = await app.sql<{ id: string; customer_id: string }>(`SELECT id::text, customer_id::text FROM interactions WHERE external_id = 'shape-1'`);
    const id = Buffer.from(`Interaction:${stored!.id}`).toString('base64');
    const customerId = Buffer.from(`Customer:${stored!.customer_id}`).toString('base64');
    expect(written.body.data.recordInteractions).toEqual({
      committed: true,
      accepted: 1,
      duplicates: 1,
      rejected: 0,
      results: [
        { index: 0, status: 'ACCEPTED', id, customerId, error: null, errors: [] },
        { index: 1, status: 'DUPLICATE', id, customerId, error: null, errors: [] },
      ],
    });
  });

  test('unparsable timestamps, unknown enum values and wrong types are request errors naming the row and field', async () => {
    const bad = async (row: Record<string, unknown>) => {
      const res = await request(app.handler)
        .post('/graphql')
        .set('authorization', app.auth)
        .send({
          query: 'mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { accepted } }',
          variables: { input: [purchase('ok', 'ok@example.com'), { ...purchase('bad', 'b@example.com'), ...row }] },
        });
      expect(res.status).toBeLessThan(500);
      return res.body.errors[0] as { message: string; extensions: { code: string } };
    };
    const timestamp = await bad({ occurredAt: 'yesterday' });
    expect(timestamp.message).toContain('input[1].occurredAt');
    expect(timestamp.extensions.code).toBe('INVALID_FIELD');
    const direction = await bad({ direction: 'SIDEWAYS' });
    expect(direction.message).toContain('input[1].direction');
    expect(direction.extensions.code).toBeDefined();
    const value = await bad({ value: 'a lot' });
    expect(value.message).toContain('input[1].value');
    expect(await count('interactions', `external_id IN ('ok', 'bad')`)).toBe(0);
  });

  test('5,000 rows are accepted; 5,001 are BATCH_TOO_LARGE and write nothing', async () => {
    const input = Array.from({ length: 5001 }, (_, i) => purchase(`big-${i}`, 'big@example.com'));
    const res = await app.graphql(RecordInteractionsDocument, { input });
    expect(res.errors![0].extensions!.code).toBe('BATCH_TOO_LARGE');
    expect(await count('interactions', `external_id LIKE 'big-%'`)).toBe(0);
    const limit = await app.graphql(RecordInteractionsDocument, { input: input.slice(0, 5000) });
    expect(limit.data!.recordInteractions.accepted).toBe(5000);
  });

  test('writes set-based: a batch costs the same few statements for 50 or 500 rows', async () => {
    const statementsFor = async (rows: number, tag: string) => {
      const input = Array.from({ length: rows }, (_, i) => purchase(`${tag}-${i}`, `${tag}-${i % 50}@example.com`));
      app.resetStatements();
      const { data } = await app.graphql(RecordInteractionsDocument, { input });
      expect(data!.recordInteractions.accepted).toBe(rows);
      return app.statements.filter((s) => /^\s*(INSERT|UPDATE|SELECT|DELETE)/i.test(s)).length;
    };
    const small = await statementsFor(50, 'bulk-small');
    const large = await statementsFor(500, 'bulk-large');
    // Rate-limit bucket, identity lock, identifier lookup, tombstone check, id allocation, customers,
    // identifiers, interactions, dirty marks, audit entry: one statement each.
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(10);
  });
});

describe('upsertCustomers', () => {
  test('creates, then updates by any identifier, merging traits', async () => {
    const first = await app.graphql(UpsertCustomersDocument, {
      input: [{ identifiers: [{ type: 'crm', value: 'C-1' }], displayName: 'Hedy', traits: { industry: 'media', plan: 'free' } }],
    });
    expect(first.data!.upsertCustomers.results[0].status).toBe('CREATED');
    const second = await app.graphql(UpsertCustomersDocument, {
      input: [
        {
          identifiers: [
            { type: 'crm', value: 'C-1' },
            { type: 'email', value: 'hedy@example.com' },
          ],
          traits: { plan: 'pro' },
          lifecycleStage: 'customer',
        },
      ],
    });
    const result = second.data!.upsertCustomers.results[0];
    expect(result.status).toBe('UPDATED');
    expect(result.customer!.id).toBe(first.data!.upsertCustomers.results[0].customer!.id);
    expect(result.customer).toMatchObject({ displayName: 'Hedy', traits: { industry: 'media', plan: 'pro' } });
    expect(result.customer!.identifiers).toEqual([
      { type: 'crm', value: 'C-1' },
      { type: 'email', value: 'hedy@example.com' },
    ]);
  });

  test('links persons to an organisation found or created by identifiers', async () => {
    const { data } = await app.graphql(UpsertCustomersDocument, {
      input: [
        { identifiers: [{ type: 'email', value: 'tim@acme.test' }], displayName: 'Tim', organization: { identifiers: [{ type: 'crm', value: 'ACME' }] } },
        { identifiers: [{ type: 'email', value: 'radia@acme.test' }], displayName: 'Radia', organization: { identifiers: [{ type: 'crm', value: 'ACME' }] } },
      ],
    });
    const [tim, radia] = data!.upsertCustomers.results.map((r) => r.customer!);
    expect(tim.organization!.id).toBe(radia.organization!.id);
    const [org] = await app.sql<{ kind: string }>(`SELECT kind FROM customers c JOIN customer_identifiers i ON i.customer_id = c.id WHERE i.value = 'ACME'`);
    expect(org.kind).toBe('ORGANIZATION');
  });

  test('ATOMIC rejects the batch when a row is invalid and writes nothing', async () => {
    const before = await count('customers');
    const { data } = await app.graphql(UpsertCustomersDocument, {
      input: [
        { identifiers: [{ type: 'email', value: 'fine@example.com' }] },
        { identifiers: [] },
        { identifiers: [{ type: 'email', value: 'x@example.com' }], traits: 'nope' },
      ],
    });
    expect(data!.upsertCustomers).toMatchObject({ committed: false, rejected: 3 });
    expect(data!.upsertCustomers.results.map((r) => r.errors[0].field)).toEqual([null, 'identifiers', 'traits']);
    expect(await count('customers')).toBe(before);
  });

  test('more than 1,000 rows is BATCH_TOO_LARGE', async () => {
    const input = Array.from({ length: 1001 }, (_, i) => ({ identifiers: [{ type: 'crm', value: `many-${i}` }] }));
    const res = await app.graphql(UpsertCustomersDocument, { input });
    expect(res.errors![0].extensions!.code).toBe('BATCH_TOO_LARGE');
  });
});

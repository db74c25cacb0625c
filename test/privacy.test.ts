import request from 'supertest';
import { RecordInteractionsDocument, UpsertCustomersDocument } from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ workers: true });
});
afterAll(() => app.close());

function admin(query: string, variables?: unknown) {
  return request(app.handler).post('/graphql').set('authorization', app.auth).send({ query, variables });
}

async function createPerson(email: string, name: string, phone = `+1415555${String(1000 + Math.floor(Math.random() * 8999))}`) {
  const { data } = await app.graphql(UpsertCustomersDocument, {
    input: [
      {
        identifiers: [
          { type: 'email', value: email },
          { type: 'phone', value: phone },
        ],
        displayName: name,
        traits: { city: 'Paris', email },
      },
    ],
  });
  const id = data!.upsertCustomers.results[0].customer!.id;
  await app.graphql(RecordInteractionsDocument, {
    input: [
      {
        customer: { id },
        channel: 'payment',
        type: 'purchase',
        occurredAt: '2026-09-01T10:00:00Z',
        value: 30,
        source: 'shop',
        externalId: `${email}-o1`,
        properties: { note: `gift for ${name}` },
      },
      { customer: { id }, channel: 'email', type: 'open', occurredAt: '2026-09-02T10:00:00Z', source: 'esp', externalId: `${email}-e1` },
    ],
  });
  return id;
}

describe('consent', () => {
  test('is recorded per purpose and channel, and an older decision never overwrites a newer one', async () => {
    const id = await createPerson('consent@example.com', 'Connie Sent');
    const set = (status: string, recordedAt: string) =>
      admin(`mutation($input: [ConsentInput!]!) { setConsents(input: $input) { committed results { status errors { code field } } } }`, {
        input: [
          {
            customer: { identifiers: [{ type: 'email', value: 'consent@example.com' }] },
            purpose: 'marketing',
            channel: 'email',
            status,
            source: 'preference-center',
            recordedAt,
          },
        ],
      });
    expect((await set('GRANTED', '2026-09-10T00:00:00Z')).body.data.setConsents.committed).toBe(true);
    await set('WITHDRAWN', '2026-09-20T00:00:00Z');
    await set('GRANTED', '2026-09-15T00:00:00Z'); // late, older delivery
    const res = await admin(`query($id: ID!) { node(id: $id) { ... on Customer { consents { purpose channel status source recordedAt } } } }`, { id });
    expect(res.body.data.node.consents).toEqual([
      { purpose: 'marketing', channel: 'email', status: 'WITHDRAWN', source: 'preference-center', recordedAt: '2026-09-20T00:00:00.000Z' },
    ]);
    const unknown = await admin(`mutation($input: [ConsentInput!]!) { setConsents(input: $input) { committed results { errors { code field } } } }`, {
      input: [{ customer: { identifiers: [{ type: 'email', value: 'nobody@example.com' }] }, purpose: 'marketing', status: 'GRANTED', source: 'x' }],
    });
    expect(unknown.body.data.setConsents).toEqual({ committed: false, results: [{ errors: [{ code: 'CUSTOMER_NOT_FOUND', field: 'customer' }] }] });
  });
});

describe('export', () => {
  test('returns everything held about the customer as one JSON document', async () => {
    const id = await createPerson('export@example.com', 'Exa Port', '+14155550111');
    await eventually(async () =>
      (await app.sql(`SELECT 1 FROM customer_stats s JOIN customer_identifiers i USING (customer_id) WHERE i.value = 'export@example.com'`)).length
        ? true
        : undefined,
    );
    await app.runtime.services.scores.recompute(['RFM', 'ENGAGEMENT']);
    const res = await admin(`query($id: ID!) { exportCustomer(id: $id) }`, { id });
    const doc = res.body.data.exportCustomer;
    expect(doc.customer.display_name).toBe('Exa Port');
    // Scores as the API shows them: their components, not the figures they are stored as.
    const shown = await admin(`query($id: ID!) { node(id: $id) { ... on Customer { scores { kind value components } } } }`, { id });
    const exported = doc.tables.scores
      .map((s: Record<string, unknown>) => ({ kind: s.kind, value: s.value, components: s.components }))
      .sort((a: { kind: string }, b: { kind: string }) => a.kind.localeCompare(b.kind));
    expect(exported.map((s: { kind: string }) => s.kind)).toEqual(['ENGAGEMENT', 'RFM']);
    expect(exported).toEqual(shown.body.data.node.scores);
    expect(exported[1].components).toMatchObject({ frequency: 1, monetary: 30, r: expect.any(Number), code: expect.any(String) });
    expect(Object.keys(doc.tables.scores[0])).not.toContain('component_values');
    expect(doc.tables.customer_identifiers.map((i: { value: string }) => i.value).sort()).toEqual(['+14155550111', 'export@example.com']);
    expect(doc.tables.interactions).toHaveLength(2);
    expect(doc.tables.customer_stats[0].interaction_count).toBe(2);
    const log = await admin(`{ auditLog(first: 5, filter: { operation: "exportCustomer" }) { entries { actor result } } }`);
    expect(log.body.data.auditLog.entries[0]).toEqual({ actor: 'bootstrap', result: 'NO_CHANGE' });
  });

  test('needs pii:read', async () => {
    const key = (await admin(`mutation { createApiKey(name: "r", scopes: ["customers:read"]) { key } }`)).body.data.createApiKey.key;
    const res = await request(app.handler).post('/graphql').set('authorization', `Bearer ${key}`).send({ query: '{ exportCustomer(id: "x") }' });
    expect(res.body.errors[0].extensions).toEqual({ code: 'FORBIDDEN', scope: 'pii:read' });
  });
});

describe('erasure', () => {
  test('removes the customer everywhere in one transaction, returns a receipt, and leaves no row mentioning them', async () => {
    const id = await createPerson('erase.me@example.com', 'Erin Rased', '+14155550123');
    await admin(`mutation($input: [ConsentInput!]!) { setConsents(input: $input) { committed } }`, {
      input: [{ customer: { id }, purpose: 'analytics', status: 'GRANTED', source: 'signup' }],
    });
    await eventually(async () =>
      (await app.sql(`SELECT 1 FROM customer_stats s JOIN customer_identifiers i USING (customer_id) WHERE i.value = 'erase.me@example.com'`)).length
        ? true
        : undefined,
    );
    const [{ id: localId }] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE value = 'erase.me@example.com'`);

    const res = await admin(`mutation($id: ID!) { eraseCustomer(id: $id) { customerId tombstones tables { table rows } } }`, { id });
    const receipt = res.body.data.eraseCustomer;
    expect(receipt.customerId).toBe(id);
    expect(receipt.tombstones).toBe(2);
    const rows = Object.fromEntries(receipt.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(rows).toMatchObject({ customers: 1, customer_identifiers: 2, interactions: 2, customer_consents: 1, customer_stats: 1 });

    // Scan every table of every schema for the person's data.
    const tables = await app.sql<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const mentions: string[] = [];
    // The erasure queued a score recompute, whose working table (scores_rebuild) may be swapped in or dropped
    // while the scan runs: a table gone since the listing holds nothing.
    const count = async (sql: string, params: unknown[]) => {
      try {
        return (await app.sql<{ n: number }>(sql, params))[0]!.n;
      } catch (error) {
        if ((error as { code?: string; driverError?: { code?: string } }).driverError?.code === '42P01') return 0; // undefined_table
        throw error;
      }
    };
    for (const { schema, name } of tables) {
      for (const needle of ['erase.me@example.com', 'Erin Rased', '+14155550123', 'gift for Erin']) {
        if (await count(`SELECT count(*)::int AS n FROM "${schema}"."${name}" t WHERE t::text ILIKE $1`, [`%${needle}%`]))
          mentions.push(`${schema}.${name}: ${needle}`);
      }
      const [column] = await app.sql(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'customer_id'`, [
        schema,
        name,
      ]);
      if (column && (await count(`SELECT count(*)::int AS n FROM "${schema}"."${name}" WHERE customer_id = $1`, [localId]))) {
        mentions.push(`${schema}.${name}: customer_id`);
      }
    }
    expect(mentions).toEqual([]);
    expect((await admin(`query($id: ID!) { node(id: $id) { id } }`, { id })).body.data.node).toBeNull();
  });

  test('of a merged customer erases the survivor, everything merged into it, and the snapshots kept to undo the merge', async () => {
    const survivor = await createPerson('merge.keep@example.com', 'Mara Keeper', '+14155550777');
    const merged = await createPerson('merge.gone@example.com', 'Mona Merged', '+14155550778');
    const merge = await admin(`mutation($s: ID!, $m: [ID!]!) { mergeCustomers(survivorId: $s, mergedIds: $m, reason: "duplicate") { id } }`, {
      s: survivor,
      m: [merged],
    });
    expect(merge.body.errors).toBeUndefined();
    const ids = (await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE value LIKE 'merge.%@example.com'`)).map(
      (r) => r.id,
    );
    expect(new Set(ids).size).toBe(1);
    const mergedLocal = Buffer.from(merged, 'base64').toString().split(':')[1];

    // Erasing through the merged customer's old id reaches the survivor.
    const res = await admin(`mutation($id: ID!) { eraseCustomer(id: $id) { tombstones tables { table rows } } }`, { id: merged });
    expect(res.body.data.eraseCustomer.tombstones).toBe(4);
    const tables = await app.sql<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const mentions: string[] = [];
    for (const { name } of tables) {
      for (const needle of ['merge.keep@example.com', 'merge.gone@example.com', 'Mara Keeper', 'Mona Merged', 'gift for Mona', '+14155550778']) {
        const [{ n }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}" t WHERE t::text ILIKE $1`, [`%${needle}%`]);
        if (n) mentions.push(`${name}: ${needle}`);
      }
    }
    expect(mentions).toEqual([]);
    for (const table of ['customers', 'customer_merges', 'customer_merge_members', 'customer_redirects']) {
      const column = table === 'customers' ? 'id' : table === 'customer_merges' ? 'survivor_id' : 'customer_id';
      expect(await app.sql(`SELECT 1 FROM ${table} WHERE ${column} = ANY($1::bigint[])`, [[ids[0], mergedLocal]])).toEqual([]);
    }
    expect((await admin(`query($id: ID!) { customer(id: $id) { id } }`, { id: merged })).body.data.customer).toBeNull();
  });

  test('a late delivery for an erased identifier is refused until a fresh consent lifts the tombstone', async () => {
    const id = await createPerson('late@example.com', 'Lena Late');
    await admin(`mutation($id: ID!) { eraseCustomer(id: $id) { tombstones } }`, { id });
    const late = {
      input: [
        {
          customer: { identifiers: [{ type: 'email', value: 'LATE@example.com' }] },
          channel: 'email',
          type: 'click',
          occurredAt: '2026-10-01T00:00:00Z',
          source: 'esp',
          externalId: 'late-1',
        },
      ],
      mode: 'PER_ROW' as const,
    };
    const refused = await app.graphql(RecordInteractionsDocument, late);
    expect(refused.data!.recordInteractions.results[0].errors[0]).toMatchObject({ code: 'IDENTIFIER_ERASED', field: 'customer.identifiers[0]' });
    expect(await app.sql(`SELECT 1 FROM customer_identifiers WHERE value = 'late@example.com'`)).toHaveLength(0);

    const lifted = await admin(`mutation { liftErasureTombstone(identifier: { type: "email", value: "late@example.com" }) }`);
    expect(lifted.body.data.liftErasureTombstone).toBe(true);
    const accepted = await app.graphql(RecordInteractionsDocument, late);
    expect(accepted.data!.recordInteractions.accepted).toBe(1);
  });

  test('is audited, and an unknown customer is NOT_FOUND', async () => {
    const missing = await admin(`mutation { eraseCustomer(id: "${Buffer.from('Customer:987654').toString('base64')}") { tombstones } }`);
    expect(missing.body.errors[0].extensions.code).toBe('NOT_FOUND');
    const log = await admin(`{ auditLog(first: 50, filter: { operation: "eraseCustomer" }) { entries { result error } } }`);
    const results = log.body.data.auditLog.entries.map((e: { result: string }) => e.result);
    expect(results).toEqual(expect.arrayContaining(['COMMITTED', 'FAILED']));
  });
});

describe('segments can filter on consent', () => {
  test('a customer enters a consent segment when consent is granted and leaves when it is withdrawn', async () => {
    const id = await createPerson('optin@example.com', 'Opal Tin', '+14155550177');
    const setConsent = (status: string, recordedAt: string) =>
      admin(`mutation($input: [ConsentInput!]!) { setConsents(input: $input) { committed } }`, {
        input: [{ customer: { id }, purpose: 'marketing', channel: 'email', status, source: 'test', recordedAt }],
      });
    await setConsent('GRANTED', '2026-09-01T00:00:00Z');
    const created = await admin(`mutation($input: SegmentInput!) { createSegment(input: $input) { id } }`, {
      input: { name: 'Marketing by email', rule: { consent: { purpose: 'marketing', channel: 'email' } } },
    });
    expect(created.body.errors).toBeUndefined();
    const segmentId = created.body.data.createSegment.id;
    const memberIds = async () => {
      const res = await admin(`query($id: ID!) { segment(id: $id) { status members(first: 50) { edges { node { id } } } } }`, { id: segmentId });
      return res.body.data.segment.members.edges.map((e: { node: { id: string } }) => e.node.id) as string[];
    };
    await eventually(async () => ((await memberIds()).includes(id) ? true : undefined));
    await setConsent('WITHDRAWN', '2026-10-01T00:00:00Z');
    await eventually(async () => ((await memberIds()).includes(id) ? undefined : true));
    const explained = await admin(
      `query($s: ID!, $c: ID!) { explainMembership(segmentId: $s, customerId: $c) { isMember matchesRule conditions { holds description } } }`,
      { s: segmentId, c: id },
    );
    expect(explained.body.data.explainMembership).toEqual({
      isMember: false,
      matchesRule: false,
      conditions: [{ holds: false, description: 'consent for marketing on email: WITHDRAWN; wanted GRANTED' }],
    });
  });

  test('a consent condition with an unknown status names its path', async () => {
    const res = await admin(`query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { count } }`, {
      rule: { and: [{ consent: { purpose: 'marketing', statusIn: ['MAYBE'] } }] },
    });
    expect(res.body.errors[0].message).toContain('rule.and[0].consent.statusIn[0]');
  });
});

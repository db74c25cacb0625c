import request from 'supertest';
import { getIntrospectionQuery } from 'graphql';
import { seedDemoData } from '../src/seed/demo-data';
import {
  Customer360PageDocument,
  CustomerByIdDocument,
  CustomerByIdentifierDocument,
  CustomerInteractionsDocument,
  CustomerOrganizationPageDocument,
  CustomersPageDocument,
  InteractionsPageDocument,
  NodeByIdDocument,
  UpsertCustomersDocument,
  type CustomersPageQuery,
  type CustomersPageQueryVariables,
} from './generated/graphql';
import { startTestApp, type TestApp } from './helpers/app';
import { createKey } from './helpers/personal-data';

type CustomersPageLike = { customers: { edges: { node: { displayName: string | null } }[] } };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
  await seedDemoData(app.database.url, { customers: 300, interactions: 6000, seed: 7, until: new Date('2026-11-01T00:00:00Z') });
});
afterAll(() => app.close());

describe('customer reads', () => {
  test('customer by identifier returns the 360 view: identifiers, stats, organisation and members', async () => {
    const [person] = await app.sql<{ value: string; name: string }>(
      `SELECT i.value, c.display_name AS name FROM customers c JOIN customer_identifiers i ON i.customer_id = c.id
        WHERE c.organization_id IS NOT NULL AND i.type = 'email' ORDER BY c.id LIMIT 1`,
    );
    const { data } = await app.graphql(CustomerByIdentifierDocument, { identifier: { type: 'EMAIL', value: ` ${person.value.toUpperCase()} ` } });
    const customer = data!.customer!;
    expect(customer.displayName).toBe(person.name);
    expect(customer.identifiers).toContainEqual({ type: 'email', value: person.value });
    const [stats] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM interactions i JOIN customer_identifiers ci ON ci.customer_id = i.customer_id WHERE ci.value = $1`,
      [person.value],
    );
    expect(customer.stats.interactionCount).toBe(stats.n);
    const org = await app.graphql(NodeByIdDocument, { id: customer.organization!.id });
    expect(org.data!.node).toMatchObject({ __typename: 'Customer', displayName: customer.organization!.displayName });
  });

  test('customer(id) and node(id) resolve global ids; an unknown or garbled id is null', async () => {
    const page = await app.graphql(CustomersPageDocument, { first: 1 });
    const id = page.data!.customers.edges[0].node.id;
    expect((await app.graphql(CustomerByIdDocument, { id })).data!.customer!.id).toBe(id);
    expect((await app.graphql(CustomerByIdDocument, { id: 'garbage' })).data!.customer).toBeNull();
    expect((await app.graphql(CustomerByIdDocument, { id: Buffer.from('Customer:99999999').toString('base64') })).data!.customer).toBeNull();
  });

  test('keyset pagination walks every customer exactly once, in order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let total: number | undefined;
    for (;;) {
      const res: Awaited<ReturnType<typeof app.graphql<CustomersPageQuery, CustomersPageQueryVariables>>> = await app.graphql(CustomersPageDocument, {
        first: 70,
        after,
        orderBy: [{ field: 'DISPLAY_NAME', direction: 'ASC' }],
      });
      const page = res.data!.customers;
      total = page.totalCount;
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(total).toBe(300);
    expect(new Set(seen).size).toBe(300);
    const names = await app.sql<{ n: string }>(`SELECT COALESCE(display_name, '') AS n FROM customers ORDER BY COALESCE(display_name, ''), id`);
    expect(seen.length).toBe(names.length);
  });

  test('filters combine with and/or/not, traits and stats, and totalCount matches SQL', async () => {
    const filter = {
      and: [
        { kind: { eq: 'PERSON' as const } },
        { or: [{ traits: [{ path: 'industry', eq: 'finance' }] }, { traits: [{ path: 'age', gte: 70 }] }] },
        { not: { lifecycleStage: { eq: 'churned' } } },
        { transactionCount: { gte: 1 } },
      ],
    };
    const { data } = await app.graphql(CustomersPageDocument, { first: 500, filter });
    const [expected] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM customers c JOIN customer_stats s ON s.customer_id = c.id
        WHERE c.kind = 'PERSON' AND (c.traits->>'industry' = 'finance' OR (c.traits->>'age')::int >= 70)
          AND c.lifecycle_stage IS DISTINCT FROM 'churned' AND s.transaction_count >= 1`,
    );
    expect(expected.n).toBeGreaterThan(0);
    expect(data!.customers.totalCount).toBe(expected.n);
    expect(data!.customers.edges).toHaveLength(expected.n);
  });

  test('a hostile value in a filter matches nothing and breaks nothing', async () => {
    const { data } = await app.graphql(CustomersPageDocument, {
      filter: { displayName: { contains: `%' OR 1=1 --` }, traits: [{ path: 'industry', eq: `x' OR '1'='1` }] },
    });
    expect(data!.customers.totalCount).toBe(0);
  });

  test('page size: default 50, at most 500, errors name the argument', async () => {
    expect((await app.graphql(CustomersPageDocument, {})).data!.customers.edges).toHaveLength(50);
    expect((await app.graphql(CustomersPageDocument, { first: 500 })).data!.customers.edges).toHaveLength(300);
    const tooMany = await app.graphql(CustomersPageDocument, { first: 501 });
    expect(tooMany.errors![0].extensions).toMatchObject({ code: 'PAGE_SIZE_EXCEEDED', field: 'first' });
    const negative = await app.graphql(CustomersPageDocument, { first: -1 });
    expect(negative.errors![0].extensions!.code).toBe('BAD_REQUEST');
    const cursor = await app.graphql(CustomersPageDocument, { after: 'not-a-cursor' });
    expect(cursor.errors![0].extensions).toMatchObject({ code: 'INVALID_CURSOR', field: 'after' });
  });
});

describe('interaction reads', () => {
  test('interactions filter by channel, type and time, newest first', async () => {
    const { data } = await app.graphql(InteractionsPageDocument, {
      first: 20,
      filter: { channel: { eq: 'payment' }, occurredAt: { gte: '2026-01-01T00:00:00Z' } },
    });
    const page = data!.interactions;
    const [expected] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM interactions WHERE channel = 'payment' AND occurred_at >= '2026-01-01'`);
    expect(page.totalCount).toBe(expected.n);
    const times = page.edges.map((e) => e.node.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(page.edges.every((e) => e.node.type === 'purchase' && e.node.value! > 0 && e.node.currency === 'USD')).toBe(true);
  });

  test('a customer’s interactions paginate with their own cursor', async () => {
    const [busy] = await app.sql<{ value: string; n: number }>(
      `SELECT i.value, s.interaction_count AS n FROM customer_stats s JOIN customer_identifiers i ON i.customer_id = s.customer_id
        WHERE i.type = 'email' ORDER BY s.interaction_count DESC LIMIT 1`,
    );
    const identifier = { type: 'email', value: busy.value };
    const first = await app.graphql(CustomerInteractionsDocument, { identifier, first: 10 });
    const second = await app.graphql(CustomerInteractionsDocument, { identifier, first: 10, after: first.data!.customer!.interactions.pageInfo.endCursor });
    const ids = [...first.data!.customer!.interactions.edges, ...second.data!.customer!.interactions.edges].map((e) => e.node.id);
    expect(new Set(ids).size).toBe(20);
    expect(first.data!.customer!.interactions.totalCount).toBe(busy.n);
  });
});

describe('no N+1', () => {
  test('a page of customers with stats, identifiers and 5 latest interactions runs the same few statements for 10 or 50 customers', async () => {
    const statementsFor = async (first: number) => {
      app.resetStatements();
      const { data, errors } = await app.graphql(Customer360PageDocument, { first });
      expect(errors).toBeUndefined();
      expect(data!.customers.edges).toHaveLength(first);
      expect(data!.customers.edges.every((e) => e.node.interactions.edges.length <= 5)).toBe(true);
      return app.statements.length;
    };
    const small = await statementsFor(10);
    const large = await statementsFor(50);
    expect(large).toBe(small);
    // The rate-limit bucket, the page (its stats read with it), identifiers, interaction pages.
    expect(large).toBeLessThanOrEqual(4);
  });

  test('stats read with a page of customers are those read customer by customer, zeros for a customer without a stats row', async () => {
    await app.graphql(UpsertCustomersDocument, { input: [{ identifiers: [{ type: 'crm', value: 'STATS-LESS-1' }], displayName: 'No stats yet' }] });
    const fields = 'interactionCount transactionCount transactionValue firstSeenAt lastSeenAt channels updatedAt';
    const post = (query: string, variables?: unknown) =>
      request(app.handler).post('/graphql').set('authorization', app.auth).send({ query, variables }).expect(200);
    const page = await post(`{ customers(first: 40, orderBy: [{ field: CREATED_AT, direction: DESC }]) { edges { node { id stats { ${fields} } } } } }`);
    expect(page.body.errors).toBeUndefined();
    const listed = (page.body.data.customers.edges as { node: { id: string; stats: unknown } }[]).map((e) => e.node);
    const dbIds = listed.map((c) => Buffer.from(c.id, 'base64').toString().split(':')[1]);
    const [{ without }] = await app.sql<{ without: number }>(
      `SELECT count(*)::int AS without FROM unnest($1::bigint[]) AS k(id) WHERE NOT EXISTS (SELECT 1 FROM customer_stats s WHERE s.customer_id = k.id)`,
      [dbIds],
    );
    expect(without).toBeGreaterThan(0);
    for (const customer of listed) {
      const single = await post(`query ($id: ID!) { customer(id: $id) { stats { ${fields} } } }`, { id: customer.id });
      expect(customer.stats).toEqual(single.body.data.customer.stats);
    }
    expect(listed.find((c) => c.stats && (c.stats as { updatedAt: unknown }).updatedAt === null)?.stats).toEqual({
      interactionCount: 0,
      transactionCount: 0,
      transactionValue: 0,
      firstSeenAt: null,
      lastSeenAt: null,
      channels: {},
      updatedAt: null,
    });
  });

  test('customers → organisation → 5 members → scores and segments: the same few statements for 10 or 50, members newest first', async () => {
    const statementsFor = async (first: number) => {
      app.resetStatements();
      const { data, errors } = await app.graphql(CustomerOrganizationPageDocument, { first });
      expect(errors).toBeUndefined();
      expect(data!.customers.edges).toHaveLength(first);
      return { statements: app.statements.length, data: data! };
    };
    const small = await statementsFor(10);
    const large = await statementsFor(50);
    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(6);
    const organizations = new Map(
      large.data.customers.edges.flatMap((e) => (e.node.organization ? [[e.node.organization.id, e.node.organization] as const] : [])),
    );
    expect(organizations.size).toBeGreaterThan(1);
    for (const organization of organizations.values()) {
      const expected = await app.sql<{ id: string }>(
        `SELECT id::text FROM customers WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 5`,
        [Buffer.from(organization.id, 'base64').toString().split(':')[1]],
      );
      expect(organization.members.edges.map((e) => Buffer.from(e.node.id, 'base64').toString().split(':')[1])).toEqual(expected.map((r) => r.id));
    }
  });
});

describe('one answer whatever runs it', () => {
  test('a repeated page read (standard executor first, compiled once repeated) answers the same, masked alike for a narrow key', async () => {
    const narrow = await createKey(app, ['customers:read', 'scores:read', 'segments:read']);
    for (const bearer of [null, narrow]) {
      const bodies: string[] = [];
      for (let run = 0; run < 5; run++) {
        const customers = bearer
          ? await app.graphqlAs(bearer, Customer360PageDocument, { first: 20 })
          : await app.graphql(Customer360PageDocument, { first: 20 });
        const organizations = bearer
          ? await app.graphqlAs(bearer, CustomerOrganizationPageDocument, { first: 20 })
          : await app.graphql(CustomerOrganizationPageDocument, { first: 20 });
        expect(customers.errors).toBeUndefined();
        expect(organizations.errors).toBeUndefined();
        bodies.push(JSON.stringify([customers.data, organizations.data]));
      }
      expect(new Set(bodies).size).toBe(1);
      // Without pii:read, every name and identifier value is masked, in every run.
      const first = JSON.parse(bodies[0]) as [CustomersPageLike, unknown];
      const names = first[0].customers.edges.map((e) => e.node.displayName);
      if (bearer) expect(names.every((n) => n === null || n.includes('•'))).toBe(true);
      else expect(names.some((n) => n !== null && !n.includes('•'))).toBe(true);
    }
  });
});

describe('limits and errors', () => {
  test('queries nested deeper than 12 levels are rejected with QUERY_TOO_DEEP', async () => {
    let selection = 'id';
    for (let i = 0; i < 9; i++) selection = `organization { ${selection} }`;
    const res = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({ query: `{ customers(first: 1) { edges { node { ${selection} } } } }` });
    expect(res.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
    // customers > edges > node is 3 levels; 8 organizations and id make 12.
    let ok = 'id';
    for (let i = 0; i < 8; i++) ok = `organization { ${ok} }`;
    const fine = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({ query: `{ customers(first: 1) { edges { node { ${ok} } } } }` });
    expect(fine.body.errors).toBeUndefined();
  });

  test('the standard introspection query fits the depth limit; nesting fields inside it still counts', async () => {
    const full = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({
        query: getIntrospectionQuery({
          descriptions: true,
          specifiedByUrl: true,
          directiveIsRepeatable: true,
          schemaDescription: true,
          inputValueDeprecation: true,
        }),
      });
    expect(full.body.errors).toBeUndefined();
    expect(full.body.data.__schema.queryType.name).toBe('Query');
    let selection = 'name';
    for (let i = 0; i < 6; i++) selection = `fields { type { ${selection} } }`;
    const deep = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({ query: `{ __schema { types { ${selection} } } }` });
    expect(deep.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });

  test('a body over the limit answers 413 PAYLOAD_TOO_LARGE; one just under is processed', async () => {
    const limit = app.config.maxBodyBytes;
    const padding = (n: number) => JSON.stringify({ query: '{ customers(first: 1) { totalCount } }', variables: { pad: 'x'.repeat(n) } });
    const base = padding(0).length;
    const over = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .set('content-type', 'application/json')
      .send(padding(limit - base + 1));
    expect(over.status).toBe(413);
    expect(over.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    const under = await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .set('content-type', 'application/json')
      .send(padding(limit - base));
    expect(under.status).toBe(200);
  });

  test('syntax errors, unknown fields and bad variables answer with a code, never 500', async () => {
    for (const body of [
      { query: '{ customers(' },
      { query: '{ nope }' },
      { query: 'query($n: Int) { customers(first: $n) { totalCount } }', variables: { n: 'many' } },
    ]) {
      const res = await request(app.handler).post('/graphql').set('authorization', app.auth).send(body);
      expect(res.status).toBeLessThan(500);
      expect(res.body.errors[0].extensions.code).toEqual(expect.any(String));
    }
  });

  test('health endpoints: /healthz is alive, /readyz checks database and queue', async () => {
    expect((await request(app.handler).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app.handler).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'ok', queue: 'ok' });
  });

  test('an upsert through the API is immediately readable', async () => {
    await app.graphql(UpsertCustomersDocument, { input: [{ identifiers: [{ type: 'crm', value: 'READ-1' }], displayName: 'Readable' }] });
    const { data } = await app.graphql(CustomerByIdentifierDocument, { identifier: { type: 'crm', value: 'READ-1' } });
    expect(data!.customer!.displayName).toBe('Readable');
    expect(data!.customer!.stats).toMatchObject({ interactionCount: 0, updatedAt: null });
  });
});

import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { getNamedType, isInputType, isLeafType, isNonNullType, isObjectType, print, type GraphQLField } from 'graphql';
import type { IncomingMessage } from 'node:http';
import request from 'supertest';
import { getSchema } from '../src/graphql/schema';
import { ROOT_FIELD_REQUIREMENTS, TYPE_REQUIREMENTS } from '../src/modules/access/requirements';
import { SCOPES, type Scope } from '../src/modules/access/scopes';
import { withAudit } from '../src/modules/access/audit';
import { inTransaction } from '../src/infra/database';
import { CustomerByIdentifierDocument, CustomersPageDocument, RecordInteractionsDocument } from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';
import { testRedisUrl } from './helpers/database';

let app: TestApp;
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HS_SECRET = 'a-shared-secret-of-at-least-32-characters';

beforeAll(async () => {
  app = await startTestApp({
    env: {
      RAPPORT_JWT_ISSUER: 'https://id.example.com',
      RAPPORT_JWT_AUDIENCE: 'rapport',
      RAPPORT_JWT_SECRET: HS_SECRET,
      RAPPORT_MAX_QUERY_COST: '5000',
      RAPPORT_MAX_ALIASES: '5',
      RAPPORT_MAX_TOKENS: '400',
    },
  });
  await app.graphql(RecordInteractionsDocument, {
    input: [
      {
        customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
        customerProfile: { displayName: 'Ada Lovelace', traits: { email: 'ada@example.com', industry: 'finance' } },
        channel: 'web',
        type: 'page_view',
        occurredAt: '2026-10-01T00:00:00Z',
        source: 'access-test',
        externalId: 'a-1',
      },
    ],
  });
});
afterAll(() => app.close());

async function keyWith(scopes: Scope[], name = 'test'): Promise<string> {
  const res = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({
      query: 'mutation($n: String!, $s: [String!]!) { createApiKey(name: $n, scopes: $s) { key apiKey { prefix scopes } } }',
      variables: { n: name, s: scopes },
    });
  return res.body.data.createApiKey.key;
}

function post(bearer: string | undefined, query: string, variables?: unknown) {
  const req = request(app.handler).post('/graphql').set('content-type', 'application/json');
  if (bearer) req.set('authorization', `Bearer ${bearer}`);
  return req.send({ query, variables });
}

/**
 * Posts a subscription over SSE. A refused one answers JSON with its errors;
 * an admitted one opens an event stream, which is closed at once (it would
 * wait for events) and read as an answer without errors.
 */
async function postSubscription(bearer: string, query: string): Promise<{ body: { errors?: { extensions?: { code?: string } }[] } }> {
  const res = await request(app.handler)
    .post('/graphql')
    .set('content-type', 'application/json')
    .set('accept', 'text/event-stream')
    .set('authorization', `Bearer ${bearer}`)
    .buffer(true)
    .parse((res, done) => {
      const response = res as unknown as IncomingMessage;
      if (String(response.headers['content-type']).includes('text/event-stream')) {
        response.destroy();
        done(null, {});
        return;
      }
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => done(null, JSON.parse(text)));
    })
    .send({ query });
  return { body: res.body as { errors?: { extensions?: { code?: string } }[] } };
}

/** A valid document calling one root field: required arguments become variables, objects select __typename. */
function operationFor(root: 'Query' | 'Mutation' | 'Subscription', field: GraphQLField<unknown, unknown>): string {
  const required = field.args.filter((a) => isNonNullType(a.type));
  const vars = required.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  const keyword = root.toLowerCase();
  return `${keyword}${vars ? `(${vars})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`;
}

describe('authorization is declared for the whole schema', () => {
  test('every query field, mutation and subscription declares a requirement, and every object type is covered', () => {
    const schema = getSchema();
    const undeclared: string[] = [];
    for (const root of ['Query', 'Mutation', 'Subscription'] as const) {
      for (const name of Object.keys(
        schema.getType(root) && isObjectType(schema.getType(root)) ? (schema.getType(root) as never as { getFields(): object }).getFields() : {},
      )) {
        if (!(`${root}.${name}` in ROOT_FIELD_REQUIREMENTS)) undeclared.push(`${root}.${name}`);
      }
    }
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || ['Query', 'Mutation', 'Subscription'].includes(type.name)) continue;
      if (type.name.endsWith('Connection') || type.name.endsWith('Edge')) continue;
      if (!(type.name in TYPE_REQUIREMENTS)) undeclared.push(type.name);
    }
    expect(undeclared).toEqual([]);
  });

  test('each operation refuses a caller without its scope (FORBIDDEN naming it) and admits one with it', async () => {
    const schema = getSchema();
    const everything = SCOPES.filter((s) => s !== 'admin');
    const keys = new Map<string, string>();
    const keyFor = async (scopes: Scope[]) => {
      const id = scopes.join(',');
      if (!keys.has(id)) keys.set(id, await keyWith(scopes));
      return keys.get(id)!;
    };
    const checked: string[] = [];
    for (const root of ['Query', 'Mutation', 'Subscription'] as const) {
      const type = schema.getType(root);
      if (!isObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const scope = ROOT_FIELD_REQUIREMENTS[`${root}.${field.name}`];
        if (!scope) continue;
        const query = operationFor(root, field);
        const without = await post(await keyFor(everything.filter((s) => s !== scope) as Scope[]), query);
        const forbidden = without.body.errors?.find((e: { extensions?: { code?: string } }) => e.extensions?.code === 'FORBIDDEN');
        expect({ field: field.name, forbidden: forbidden?.extensions }).toEqual({ field: field.name, forbidden: { code: 'FORBIDDEN', scope } });
        // A subscription admitted over plain POST would wait for events: it is opened over SSE instead.
        const withScope = root === 'Subscription' ? await postSubscription(await keyFor([scope]), query) : await post(await keyFor([scope]), query);
        const stillForbidden = (withScope.body.errors ?? []).filter((e: { extensions?: { code?: string } }) => e.extensions?.code === 'FORBIDDEN');
        expect({ field: field.name, errors: stillForbidden }).toEqual({ field: field.name, errors: [] });
        checked.push(field.name);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'customers',
        'recordInteractions',
        'upsertCustomers',
        'createApiKey',
        'auditLog',
        'eraseCustomer',
        'customerChanged',
        'scoreChanged',
      ]),
    );
  });

  test('a field needing another scope than its type is refused inside an allowed query', async () => {
    const key = await keyWith(['customers:read', 'pii:read']);
    const res = await post(key, '{ customers(first: 1) { edges { node { displayName scores { kind } } } } }');
    expect(res.body.errors[0].extensions).toEqual({ code: 'FORBIDDEN', scope: 'scores:read' });
  });
});

describe('authentication', () => {
  test('no credentials, a malformed header or an unknown key answer 401 UNAUTHENTICATED; health stays open', async () => {
    for (const header of [undefined, 'Basic abc', 'Bearer rk_0123456789_nope-nope-nope-nope-nope-nope-nope-xx']) {
      const req = request(app.handler).post('/graphql').send({ query: '{ customers(first: 1) { totalCount } }' });
      if (header) req.set('authorization', header);
      const res = await req;
      expect(res.status).toBe(401);
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toContain('Bearer');
    }
    expect((await request(app.handler).get('/healthz')).status).toBe(200);
  });

  test('an API key is shown once, stored only as a hash, identified by its prefix, revocable, with last use', async () => {
    const res = await request(app.handler).post('/graphql').set('authorization', app.auth).send({
      query: 'mutation { createApiKey(name: "tool", scopes: ["customers:read"]) { key apiKey { id prefix } } }',
    });
    const { key, apiKey } = res.body.data.createApiKey;
    expect(key.startsWith(`rk_${apiKey.prefix}_`)).toBe(true);
    const stored = await app.sql<Record<string, unknown>>(`SELECT * FROM api_keys WHERE prefix = $1`, [apiKey.prefix]);
    // The secret is base64url and may itself contain "_": take everything after the prefix.
    const secretPart = key.slice(`rk_${apiKey.prefix}_`.length);
    expect(secretPart.length).toBeGreaterThanOrEqual(43);
    expect(JSON.stringify(stored)).not.toContain(secretPart);
    expect((await post(key, '{ customers(first: 1) { totalCount } }')).status).toBe(200);
    // last_used_at is written off the request path.
    const used = await eventually(async () => {
      const [row] = await app.sql<{ last_used_at: Date | null }>(`SELECT last_used_at FROM api_keys WHERE prefix = $1`, [apiKey.prefix]);
      return row.last_used_at ?? undefined;
    });
    expect(used.getTime()).toBeGreaterThan(Date.now() - 60_000);
    await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({ query: `mutation { revokeApiKey(id: "${apiKey.id}") { revokedAt } }` });
    expect((await post(key, '{ customers(first: 1) { totalCount } }')).status).toBe(401);
  });

  test('an expired key is refused', async () => {
    const created = await keyWith(['customers:read']);
    await app.sql(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1`, [created.split('_')[1]]);
    expect((await post(created, '{ customers(first: 1) { totalCount } }')).status).toBe(401);
  });

  const jwt = (alg: 'HS256' | 'RS256', claims: Record<string, unknown>) => {
    const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const input = `${header}.${payload}`;
    const signature = alg === 'HS256' ? createHmac('sha256', HS_SECRET).update(input).digest() : sign('RSA-SHA256', Buffer.from(input), privateKey);
    return `${input}.${signature.toString('base64url')}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const good = { iss: 'https://id.example.com', aud: 'rapport', sub: 'user-1', exp: now + 600, scope: 'customers:read' };

  test('HS256 JWTs with scopes in a claim are accepted; wrong issuer, audience, expiry, signature or alg are refused', async () => {
    expect((await post(jwt('HS256', good), '{ customers(first: 1) { totalCount } }')).body.data.customers.totalCount).toBeGreaterThan(0);
    const forbidden = await post(jwt('HS256', good), '{ scoreModels { kind } }');
    expect(forbidden.body.errors[0].extensions.code).toBe('FORBIDDEN');
    for (const bad of [
      { ...good, iss: 'x' },
      { ...good, aud: 'other' },
      { ...good, exp: now - 3600 },
    ]) {
      expect((await post(jwt('HS256', bad), '{ customers(first: 1) { totalCount } }')).status).toBe(401);
    }
    const token = jwt('HS256', good);
    const signatureAt = token.lastIndexOf('.') + 5;
    const tampered = token.slice(0, signatureAt) + (token[signatureAt] === 'A' ? 'B' : 'A') + token.slice(signatureAt + 1);
    expect((await post(tampered, '{ customers(first: 1) { totalCount } }')).status).toBe(401);
    // Another last character is refused too, even where it only changes base64url's spare bits.
    const last = token[token.length - 1];
    const respelled = token.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) ^ 1);
    expect((await post(respelled, '{ customers(first: 1) { totalCount } }')).status).toBe(401);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
    expect((await post(none, '{ customers(first: 1) { totalCount } }')).status).toBe(401);
  });

  test('RS256 JWTs verify against the configured public key', async () => {
    const rsApp = await startTestApp({
      env: {
        RAPPORT_JWT_ISSUER: 'https://id.example.com',
        RAPPORT_JWT_AUDIENCE: 'rapport',
        RAPPORT_JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      },
    });
    try {
      const ok = await rsApp.graphqlAs(jwt('RS256', good), CustomersPageDocument, { first: 1 });
      expect(ok.status).toBe(200);
      expect(ok.errors).toBeUndefined();
      expect((await rsApp.graphqlAs(jwt('HS256', good), CustomersPageDocument, { first: 1 })).status).toBe(401);
    } finally {
      await rsApp.close();
    }
  });
});

describe('personal data is masked without pii:read', () => {
  test('names, identifier values and personal traits are masked; other fields are not', async () => {
    const reader = await keyWith(['customers:read']);
    const res = await post(
      reader,
      '{ customers(first: 10, filter: { traits: [{ path: "industry", eq: "finance" }] }) { edges { node { displayName identifiers { type value } traits } } } }',
    );
    const ada = res.body.data.customers.edges
      .map((e: { node: unknown }) => e.node)
      .find((n: { traits: { industry?: string } }) => n.traits.industry === 'finance');
    expect(ada).toEqual({ displayName: 'A•••', identifiers: [{ type: 'email', value: 'a•••' }], traits: { email: '•••', industry: 'finance' } });
    const full = await post(await keyWith(['customers:read', 'pii:read']), '{ customers(first: 10) { edges { node { displayName } } } }');
    expect(full.body.data.customers.edges.map((e: { node: { displayName: string } }) => e.node.displayName)).toContain('Ada Lovelace');
  });

  test('without pii:read a customer cannot be found by email, name or a personal trait either', async () => {
    const reader = await keyWith(['customers:read']);
    const byIdentifier = await app.graphqlAs(reader, CustomerByIdentifierDocument, { identifier: { type: 'email', value: 'ada@example.com' } });
    expect(byIdentifier.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'identifier' });
    for (const filter of [
      { identifier: { type: 'email', value: 'ada@example.com' } },
      { displayName: { startsWith: 'Ada' } },
      { traits: [{ path: 'email', eq: 'ada@example.com' }] },
    ]) {
      const res = await app.graphqlAs(reader, CustomersPageDocument, { filter });
      expect(res.errors![0].extensions!.code).toBe('FORBIDDEN');
    }
    const allowed = await app.graphqlAs(reader, CustomersPageDocument, { filter: { traits: [{ path: 'industry', eq: 'finance' }] } });
    expect(allowed.errors).toBeUndefined();
  });
});

describe('abuse limits', () => {
  test('query cost: just under the limit passes, just over is QUERY_TOO_COMPLEX', async () => {
    // customers(first: $n) { edges { node { id } } } costs 1 + n × (1 + 1 + 1) = 3n + 1.
    const query = 'query($n: Int) { customers(first: $n) { edges { node { id } } } }';
    const under = await post(app.auth.slice(7), query, { n: 1666 });
    expect(under.body.errors?.[0]?.extensions?.code).toBe('PAGE_SIZE_EXCEEDED');
    const over = await post(app.auth.slice(7), query, { n: 1667 });
    expect(over.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: 5002, limit: 5000 });
  });

  test('aliases: 5 pass, 6 are refused', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: customers(first: 1) { totalCount }`).join(' ')} }`;
    expect((await post(app.auth.slice(7), aliases(5))).body.errors).toBeUndefined();
    expect((await post(app.auth.slice(7), aliases(6))).body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  test('tokens: a document over the token limit is refused before parsing completes', async () => {
    const fields = (n: number) => `{ customers(first: 1) { totalCount ${'pageInfo { hasNextPage } '.repeat(n)} } }`;
    expect((await post(app.auth.slice(7), fields(60))).body.errors).toBeUndefined();
    expect((await post(app.auth.slice(7), fields(100))).body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  test('per-key rate limit: the request past the burst answers 429 with Retry-After', async () => {
    const limited = await startTestApp({ env: { RAPPORT_RATE_LIMIT_PER_MINUTE: '6', RAPPORT_RATE_LIMIT_BURST: '3' } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 4; i++) {
        const res = await request(limited.handler)
          .post('/graphql')
          .set('authorization', limited.auth)
          .send({ query: '{ customers(first: 1) { totalCount } }' });
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers['retry-after'];
          expect(res.body.errors[0].extensions.code).toBe('RATE_LIMITED');
        }
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  test('with REDIS_URL the rate limit lives in Redis: the request past the burst answers 429', async () => {
    const limited = await startTestApp({
      queue: 'redis',
      env: { REDIS_URL: testRedisUrl(), RAPPORT_RATE_LIMIT_PER_MINUTE: '6', RAPPORT_RATE_LIMIT_BURST: '2' },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push(
          (await request(limited.handler).post('/graphql').set('authorization', limited.auth).send({ query: '{ customers(first: 1) { totalCount } }' })).status,
        );
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(await limited.sql('SELECT 1 FROM rate_limit_buckets')).toEqual([]);
    } finally {
      await limited.close();
    }
  });

  test('introspection can be turned off', async () => {
    const closed = await startTestApp({ env: { RAPPORT_INTROSPECTION: 'false' } });
    try {
      const res = await request(closed.handler).post('/graphql').set('authorization', closed.auth).send({ query: '{ __schema { queryType { name } } }' });
      expect(res.body.errors[0].extensions.code).toBe('INTROSPECTION_DISABLED');
      const typename = await request(closed.handler).post('/graphql').set('authorization', closed.auth).send({ query: '{ __typename }' });
      expect(typename.body.data.__typename).toBe('Query');
    } finally {
      await closed.close();
    }
    const open = await request(app.handler).post('/graphql').set('authorization', app.auth).send({ query: '{ __schema { queryType { name } } }' });
    expect(open.body.data.__schema.queryType.name).toBe('Query');
  });
});

describe('audit log', () => {
  test('a mutation writes one entry with the actor, redacted variables and touched records', async () => {
    const writer = await keyWith(['interactions:write']);
    await app.graphqlAs(writer, RecordInteractionsDocument, {
      input: [
        {
          customer: { identifiers: [{ type: 'email', value: 'audited@example.com' }] },
          channel: 'email',
          type: 'open',
          occurredAt: '2026-10-02T00:00:00Z',
          source: 'audit',
          externalId: 'au-1',
        },
      ],
    });
    const res = await post(
      app.auth.slice(7),
      '{ auditLog(first: 5, filter: { operation: "recordInteractions" }) { entries { actor actorKind operation variables records result } } }',
    );
    const entry = res.body.data.auditLog.entries.find((e: { actor: string }) => e.actor === `key:${writer.split('_')[1]}`);
    expect(entry).toMatchObject({ actorKind: 'api_key', operation: 'recordInteractions', result: 'COMMITTED' });
    expect(JSON.stringify(entry.variables)).not.toContain('audited@example.com');
    expect(entry.variables.input[0]).toMatchObject({ channel: 'email', externalId: '[redacted]' });
    expect(entry.records.some((r: string) => r.startsWith('customer:'))).toBe(true);
  });

  test('a large batch is audited by its first 20 rows and the count of the rest, not copied whole', async () => {
    const writer = await keyWith(['interactions:write']);
    const input = Array.from({ length: 25 }, (_, i) => ({
      customer: { identifiers: [{ type: 'email', value: `audit-batch-${i}@example.com` }] },
      channel: 'web',
      type: 'page_view',
      occurredAt: '2026-10-02T00:00:00Z',
      source: 'audit-batch',
      externalId: `ab-${i}`,
    }));
    const written = await app.graphqlAs(writer, RecordInteractionsDocument, { input });
    expect(written.data!.recordInteractions.accepted).toBe(25);
    const res = await post(
      app.auth.slice(7),
      '{ auditLog(first: 5, filter: { operation: "recordInteractions" }) { entries { actor variables records result } } }',
    );
    const entry = res.body.data.auditLog.entries.find((e: { actor: string }) => e.actor === `key:${writer.split('_')[1]}`);
    expect(entry.result).toBe('COMMITTED');
    expect(entry.variables.input).toHaveLength(21);
    expect(entry.variables.input[19]).toMatchObject({ channel: 'web', type: 'page_view', source: 'audit-batch' });
    expect(entry.variables.input[20]).toBe('[5 more]');
    expect(entry.records.filter((r: string) => r.startsWith('customer:'))).toHaveLength(25);
  });

  test('the entry commits with the change and is not written when the change rolls back', async () => {
    const principal = { subject: 'test', kind: 'bootstrap' as const, scopes: new Set<Scope>(['admin']) };
    await expect(
      withAudit({ principal, operation: 'rolledBack', variables: {} }, () =>
        inTransaction(app.dataSource, async (manager) => {
          await manager.query(`INSERT INTO customers (kind, display_name) VALUES ('PERSON', 'Never')`);
          throw new Error('boom');
        }),
      ),
    ).rejects.toThrow('boom');
    expect(await app.sql(`SELECT 1 FROM audit_log WHERE operation = 'rolledBack'`)).toHaveLength(0);
    expect(await app.sql(`SELECT 1 FROM customers WHERE display_name = 'Never'`)).toHaveLength(0);
    await withAudit({ principal, operation: 'committed', variables: {} }, () =>
      inTransaction(app.dataSource, (manager) => manager.query(`INSERT INTO customers (kind, display_name) VALUES ('PERSON', 'Kept')`)),
    );
    expect(await app.sql(`SELECT result FROM audit_log WHERE operation = 'committed'`)).toEqual([{ result: 'COMMITTED' }]);
  });

  test('mutations of other modules commit their entry with the change too', async () => {
    await post(app.auth.slice(7), 'mutation { updateScoreModel(kind: RFM, settings: { lookbackDays: 400 }) { kind } }');
    await post(app.auth.slice(7), 'mutation($input: SegmentInput!) { createSegment(input: $input) { id } }', {
      input: { name: 'Audited segment', rule: { attribute: { field: 'lifecycleStage', op: 'EQ', value: 'customer' } } },
    });
    const res = await post(app.auth.slice(7), '{ auditLog(first: 20) { entries { operation result } } }');
    const entries = res.body.data.auditLog.entries as { operation: string; result: string }[];
    expect(entries.find((e) => e.operation === 'updateScoreModel')).toEqual({ operation: 'updateScoreModel', result: 'COMMITTED' });
    expect(entries.find((e) => e.operation === 'createSegment')).toEqual({ operation: 'createSegment', result: 'COMMITTED' });
  });

  test('reading the audit log needs audit:read', async () => {
    const res = await post(await keyWith(['customers:read']), '{ auditLog { entries { id } } }');
    expect(res.body.errors[0].extensions).toEqual({ code: 'FORBIDDEN', scope: 'audit:read' });
  });
});

test('printing an operation keeps typed documents usable', () => {
  expect(print(CustomersPageDocument)).toContain('customers');
  expect(isInputType(getSchema().getType('IdentifierInput')!)).toBe(true);
});

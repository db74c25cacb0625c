import { createHash, createHmac } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '@rapport/connector-kit';
import type { Scope } from '../../src/modules/access/scopes';
import { REPO_ROOT, startConnectorTestApp, type ConnectorTestApp } from '../helpers/connectors';

let c: ConnectorTestApp;
beforeAll(async () => {
  c = await startConnectorTestApp({
    env: { RAPPORT_CONNECTOR_PACKAGES: [path.join(REPO_ROOT, 'plugins/webhook'), path.join(REPO_ROOT, 'plugins/web-tracking')].join(',') },
  });
});
afterAll(() => c.close());

/** Posts a GraphQL body as given (a string is sent verbatim: supertest's serialiser recurses and cannot send 20,000 levels). */
function post(bearer: string, body: string | { query: string; variables?: unknown }) {
  return request(c.handler)
    .post('/graphql')
    .set('authorization', `Bearer ${bearer}`)
    .set('content-type', 'application/json')
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}
const admin = (query: string, variables?: unknown) => post(c.adminKey, { query, variables });

async function keyWith(scopes: Scope[]): Promise<string> {
  const res = await admin('mutation($s: [String!]!) { createApiKey(name: "security", scopes: $s) { key } }', { s: scopes });
  return res.body.data.createApiKey.key;
}

const CUSTOMERS = 'query($f: CustomerFilter) { customers(filter: $f) { totalCount } }';
const SET_CONSENTS =
  'mutation($i: [ConsentInput!]!, $m: BatchMode) { setConsents(input: $i, mode: $m) { committed results { status errors { code field message } } } }';
const UPSERT =
  'mutation($i: [CustomerInput!]!, $m: BatchMode) { upsertCustomers(input: $i, mode: $m) { committed created updated written rejected results { status customer { id } errors { code field message } } } }';
const PREVIEW = 'query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count } }';

/** Every GraphQL error of a response, as code and field. */
function errorsOf(res: request.Response): { code?: string; field?: string }[] {
  return (res.body.errors ?? []).map((e: { extensions?: { code?: string; field?: string } }) => ({ code: e.extensions?.code, field: e.extensions?.field }));
}

describe('500s on bad input (other finding 6)', () => {
  test('a NUL character in a filter value, a consent purpose or an identifier value is INVALID_TEXT naming the field', async () => {
    expect(errorsOf(await admin(CUSTOMERS, { f: { displayName: { eq: 'a\u0000b' } } }))).toEqual([{ code: 'INVALID_TEXT', field: '$f.displayName.eq' }]);
    const consent = (purpose: string, value: string) => ({ customer: { identifiers: [{ type: 'crm', value }] }, purpose, status: 'GRANTED', source: 'form' });
    expect(errorsOf(await admin(SET_CONSENTS, { i: [consent('mark\u0000eting', 'c-1')] }))).toEqual([{ code: 'INVALID_TEXT', field: '$i[0].purpose' }]);
    expect(errorsOf(await admin(SET_CONSENTS, { i: [consent('marketing', 'c\u00001')] }))).toEqual([
      { code: 'INVALID_TEXT', field: '$i[0].customer.identifiers[0].value' },
    ]);
    expect(errorsOf(await admin(UPSERT, { i: [{ identifiers: [{ type: 'crm', value: 'x\u0000' }] }] }))).toEqual([
      { code: 'INVALID_TEXT', field: '$i[0].identifiers[0].value' },
    ]);
    // In a literal too, and in a segment rule's consent purpose.
    expect(errorsOf(await admin('{ customers(filter: { lifecycleStage: { eq: "a\\u0000" } }) { totalCount } }'))).toEqual([
      { code: 'INVALID_TEXT', field: 'customers.filter.lifecycleStage.eq' },
    ]);
    expect(errorsOf(await admin(PREVIEW, { r: { consent: { purpose: 'm\u0000' } } }))).toEqual([{ code: 'INVALID_TEXT', field: '$r.consent.purpose' }]);
  });

  test('a lone surrogate in a trait value or key is INVALID_TEXT naming the field; a well-formed astral character is stored', async () => {
    expect(errorsOf(await admin(UPSERT, { i: [{ identifiers: [{ type: 'crm', value: 'sur-1' }], traits: { note: 'x\ud800y' } }] }))).toEqual([
      { code: 'INVALID_TEXT', field: '$i[0].traits.note' },
    ]);
    expect(errorsOf(await admin(UPSERT, { i: [{ identifiers: [{ type: 'crm', value: 'sur-1' }], traits: { ['k\udc00']: 1 } }] }))).toEqual([
      { code: 'INVALID_TEXT', field: '$i[0].traits' },
    ]);
    const ok = await admin(UPSERT, { i: [{ identifiers: [{ type: 'crm', value: 'sur-1' }], traits: { note: 'x\ud83d\ude00y' } }] });
    expect(ok.body.data.upsertCustomers.committed).toBe(true);
  });

  test('20,000-deep not nesting is INPUT_TOO_COMPLEX, as a variable and as a literal', async () => {
    const deep = '{"not":'.repeat(20_000) + '{"kind":{"eq":"PERSON"}}' + '}'.repeat(20_000);
    const asVariable = await post(c.adminKey, `{"query":${JSON.stringify(CUSTOMERS)},"variables":{"f":${deep}}}`);
    expect(errorsOf(asVariable)).toEqual([{ code: 'INPUT_TOO_COMPLEX', field: expect.stringMatching(/^\$f(\.not)+$/) }]);
    const literal = 'not: {'.repeat(20_000) + 'kind: { eq: PERSON }' + '}'.repeat(20_000);
    expect(errorsOf(await admin(`{ customers(filter: { ${literal} }) { totalCount } }`))).toEqual([{ code: 'INPUT_TOO_COMPLEX', field: undefined }]);
    // Deep enough to exhaust graphql-js's recursive parser, yet inside the token limit.
    const parserDeep = 'not: {'.repeat(2_500) + 'kind: { eq: PERSON }' + '}'.repeat(2_500);
    expect(errorsOf(await admin(`{ customers(filter: { ${parserDeep} }) { totalCount } }`))).toEqual([{ code: 'INPUT_TOO_COMPLEX', field: undefined }]);
    // A segment rule given as a variable, nested past the input limit.
    const rule = '{"not":'.repeat(5_000) + '{"consent":{"purpose":"m"}}' + '}'.repeat(5_000);
    expect(errorsOf(await post(c.adminKey, `{"query":${JSON.stringify(PREVIEW)},"variables":{"r":${rule}}}`))[0]?.code).toBe('INPUT_TOO_COMPLEX');
  });

  test('an or of 70,000 items, and one of 5,000 that passes the list limit, are INPUT_TOO_COMPLEX', async () => {
    const or = (n: number) => ({ f: { or: Array.from({ length: n }, (_, i) => ({ lifecycleStage: { eq: `s${i}` } })) } });
    expect(errorsOf(await admin(CUSTOMERS, or(70_000)))).toEqual([{ code: 'INPUT_TOO_COMPLEX', field: '$f.or' }]);
    expect(errorsOf(await admin(CUSTOMERS, or(5_000)))).toEqual([{ code: 'INPUT_TOO_COMPLEX', field: '$f' }]);
    // A filter of ordinary size still runs.
    expect((await admin(CUSTOMERS, or(200))).body.data.customers.totalCount).toBe(0);
  });

  test('a 100,000-character consent channel is refused with the field named, in setConsents and in a segment rule', async () => {
    const long = 'c'.repeat(100_000);
    const set = await admin(SET_CONSENTS, {
      i: [{ customer: { identifiers: [{ type: 'crm', value: 'c-1' }] }, purpose: 'm', channel: long, status: 'GRANTED', source: 'form' }],
    });
    expect(set.body.data.setConsents.results[0].errors[0]).toMatchObject({ code: 'INVALID_FIELD', field: 'channel' });
    const preview = await admin(PREVIEW, { r: { consent: { purpose: 'm', channel: long } } });
    expect(errorsOf(preview)).toEqual([{ code: 'SEGMENT_RULE_INVALID', field: 'rule.consent.channel' }]);
  });

  test('a webhook record with a NUL identifier, a lone surrogate or 10,000-level properties is refused by path, never a 500', async () => {
    const secret = 'whsec_bad_input_0123456789';
    const created = await admin('mutation($c: JSON!) { createConnection(input: { connector: "webhook", name: "bad-input", config: $c }) { id } }', {
      c: {
        signingSecret: secret,
        typeValue: 'evt',
        idType: 'hooktest',
        mapping: { customerId: 'uid', externalId: 'id', occurredAt: 'ts', properties: ['data'] },
      },
    });
    const hook = `/hooks/${Buffer.from(created.body.data.createConnection.id, 'base64').toString().split(':')[1]}`;
    const deliver = (body: string) =>
      request(c.handler)
        .post(hook)
        .set('content-type', 'application/json')
        .set(WEBHOOK_SIGNATURE_HEADER, signWebhook(secret, body, new Date()))
        .send(body);
    const event = (uid: string, data: string) => `{"id":"e-${Math.random()}","ts":"2026-01-01T00:00:00Z","uid":${JSON.stringify(uid)},"data":${data}}`;

    const nul = await deliver(event('a\u0000b', '1'));
    expect(nul.status).toBe(400);
    expect(nul.body.errors).toEqual([{ path: 'interactions[0].customer.identifiers[0].value', code: 'INVALID_TEXT', message: expect.any(String) }]);
    const surrogate = await deliver(event('u-1', '"\\ud800"'));
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.errors).toEqual([{ path: 'interactions[0].properties.data', code: 'INVALID_TEXT', message: expect.any(String) }]);
    const deep = await deliver(event('u-1', '['.repeat(10_000) + ']'.repeat(10_000)));
    expect(deep.status).toBe(400);
    expect(deep.body.errors[0]).toMatchObject({ code: 'INPUT_TOO_COMPLEX', path: expect.stringMatching(/^interactions\[0\]\.properties\.data(\[0\])+$/) });
    expect(await c.app.sql(`SELECT 1 FROM customer_identifiers WHERE type = 'hooktest'`)).toEqual([]);
  });
});

describe('Write paths leak identity (item 6)', () => {
  let narrow: string;
  let victimId: string;
  beforeAll(async () => {
    narrow = await keyWith(['customers:write', 'customers:read', 'interactions:write']);
    const created = await admin(UPSERT, { i: [{ identifiers: [{ type: 'email', value: 'victim@example.org' }], displayName: 'Vic Tim' }] });
    victimId = created.body.data.upsertCustomers.results[0].customer.id;
  });

  test('upsertCustomers answers a key without pii:read the same for a matched customer and a new one', async () => {
    const upsert = (email: string) =>
      post(narrow, { query: UPSERT, variables: { i: [{ identifiers: [{ type: 'email', value: email }], lifecycleStage: 'lead' }] } });
    const matched = await upsert('victim@example.org');
    const fresh = await upsert(`fresh-${Date.now()}@example.org`);
    const expected = { committed: true, created: null, updated: null, written: 1, rejected: 0, results: [{ status: 'WRITTEN', customer: null, errors: [] }] };
    expect(matched.body).toEqual({ data: { upsertCustomers: expected } });
    expect(fresh.body).toEqual({ data: { upsertCustomers: expected } });
    // The write itself happened: a write may change a customer, it only does not say which.
    expect(
      await c.app.sql(`SELECT lifecycle_stage FROM customers c JOIN customer_identifiers i ON i.customer_id = c.id WHERE i.value = 'victim@example.org'`),
    ).toEqual([{ lifecycle_stage: 'lead' }]);
    // With pii:read the split and the customer are shown.
    const full = await admin(UPSERT, { i: [{ identifiers: [{ type: 'email', value: 'victim@example.org' }] }] });
    expect(full.body.data.upsertCustomers).toMatchObject({ created: 0, updated: 1, written: 1, results: [{ status: 'UPDATED', customer: { id: victimId } }] });
  });

  test('setConsents gives a key without pii:read the same answer whether or not the identifiers belong to someone, ATOMIC and PER_ROW', async () => {
    const row = (email: string) => ({
      customer: { identifiers: [{ type: 'email', value: email }] },
      purpose: 'marketing',
      channel: 'email',
      status: 'WITHDRAWN',
      source: 'form',
    });
    for (const mode of ['ATOMIC', 'PER_ROW']) {
      const unknown = `nobody-${mode.toLowerCase()}@example.org`;
      const res = await post(narrow, { query: SET_CONSENTS, variables: { m: mode, i: [row('victim@example.org'), row(unknown)] } });
      expect(res.body.data.setConsents).toEqual({
        committed: true,
        results: [
          { status: 'ACCEPTED', errors: [] },
          { status: 'ACCEPTED', errors: [] },
        ],
      });
      // The decision is kept: the person the identifiers name now exists with it.
      const [stored] = await c.app.sql<{ status: string }>(
        `SELECT cc.status FROM customer_consents cc JOIN customer_identifiers i ON i.customer_id = cc.customer_id WHERE i.value = $1`,
        [unknown],
      );
      expect(stored).toEqual({ status: 'WITHDRAWN' });
    }
    // A key with pii:read is told the customer does not exist, and that the rest of the ATOMIC batch was not written.
    const full = await admin(SET_CONSENTS, { i: [row('victim@example.org'), row('nobody-admin@example.org')] });
    expect(full.body.data.setConsents.results.map((r: { errors: { code: string }[] }) => r.errors[0]?.code)).toEqual(['BATCH_ABORTED', 'CUSTOMER_NOT_FOUND']);
  });

  test('IDENTITY_CONFLICT messages name no customer, for a row and for rows of a batch', async () => {
    const other = await admin(UPSERT, { i: [{ identifiers: [{ type: 'email', value: 'other@example.org' }] }] });
    const otherId = other.body.data.upsertCustomers.results[0].customer.id;
    const localIds = [victimId, otherId].map((id: string) => Buffer.from(id, 'base64').toString().split(':')[1]!);
    const oneRow = await post(narrow, {
      query: UPSERT,
      variables: {
        m: 'PER_ROW',
        i: [
          {
            identifiers: [
              { type: 'email', value: 'victim@example.org' },
              { type: 'email', value: 'other@example.org' },
            ],
          },
        ],
      },
    });
    const twoRows = await post(narrow, {
      query: UPSERT,
      variables: {
        m: 'PER_ROW',
        i: [
          {
            identifiers: [
              { type: 'email', value: 'victim@example.org' },
              { type: 'crm', value: 'link-1' },
            ],
          },
          {
            identifiers: [
              { type: 'crm', value: 'link-1' },
              { type: 'email', value: 'other@example.org' },
            ],
          },
        ],
      },
    });
    const errors = [...oneRow.body.data.upsertCustomers.results, ...twoRows.body.data.upsertCustomers.results].map(
      (r: { errors: { code: string; message: string }[] }) => r.errors[0]!,
    );
    expect(errors.map((e) => e.code)).toEqual(['IDENTITY_CONFLICT', 'IDENTITY_CONFLICT', 'IDENTITY_CONFLICT']);
    for (const e of errors) for (const id of localIds) expect(e.message).not.toMatch(new RegExp(`\\b${id}\\b`));
  });

  test('recordInteractions hides the customer id of rows named by identifiers from a key without pii:read', async () => {
    const event = (customer: unknown, externalId: string) => ({
      customer,
      channel: 'web',
      type: 'page_view',
      occurredAt: '2026-01-01T00:00:00Z',
      source: 'sec',
      externalId,
    });
    const res = await post(narrow, {
      query: 'mutation($i: [InteractionInput!]!) { recordInteractions(input: $i) { results { status customerId } } }',
      variables: { i: [event({ identifiers: [{ type: 'email', value: 'victim@example.org' }] }, 'ri-1'), event({ id: victimId }, 'ri-2')] },
    });
    expect(res.body.data.recordInteractions.results).toEqual([
      { status: 'ACCEPTED', customerId: null },
      { status: 'ACCEPTED', customerId: victimId },
    ]);
  });

  test('addToSegment and removeFromSegment refuse a key without pii:read naming members by identifiers (found or not would tell who exists)', async () => {
    const segmentsKey = await keyWith(['segments:write', 'segments:read', 'customers:read']);
    const created = await admin('mutation { createSegment(input: { name: "hand-picked", kind: STATIC }) { id } }');
    const segmentId = created.body.data.createSegment.id;
    const MEMBERS = (op: string) => `mutation($s: ID!, $c: [CustomerRefInput!]!) { ${op}(segmentId: $s, customers: $c) { results { status error { code } } } }`;
    for (const op of ['addToSegment', 'removeFromSegment']) {
      for (const email of ['victim@example.org', 'nobody-at-all@example.org']) {
        const res = await post(segmentsKey, {
          query: MEMBERS(op),
          variables: { s: segmentId, c: [{ id: victimId }, { identifiers: [{ type: 'email', value: email }] }] },
        });
        expect({ op, email, data: res.body.data?.[op] ?? null, errors: errorsOf(res) }).toEqual({
          op,
          email,
          data: null,
          errors: [{ code: 'FORBIDDEN', field: 'customers[1].identifiers' }],
        });
      }
    }
    // By id the key still manages members; with pii:read identifiers work as before.
    const byId = await post(segmentsKey, { query: MEMBERS('addToSegment'), variables: { s: segmentId, c: [{ id: victimId }] } });
    expect(byId.body.data.addToSegment.results).toEqual([{ status: 'ADDED', error: null }]);
    const byEmail = await admin(MEMBERS('removeFromSegment'), { s: segmentId, c: [{ identifiers: [{ type: 'email', value: 'victim@example.org' }] }] });
    expect(byEmail.body.data.removeFromSegment.results).toEqual([{ status: 'REMOVED', error: null }]);
  });
});

describe('connector_runs.errors keeps raw input after erasure (other finding 3)', () => {
  const ALICE = 'alice.victim@example.org';
  let hook: string;
  const secret = 'whsec_erasure_0123456789';
  beforeAll(async () => {
    const created = await admin('mutation($c: JSON!) { createConnection(input: { connector: "webhook", name: "erasure", config: $c }) { id } }', {
      c: { signingSecret: secret, typeValue: 'evt', mapping: { email: 'email', externalId: 'id', occurredAt: 'ts' } },
    });
    hook = `/hooks/${Buffer.from(created.body.data.createConnection.id, 'base64').toString().split(':')[1]}`;
  });
  const deliver = (email: string, id: string) => {
    const body = JSON.stringify({ id, ts: '2026-01-01T00:00:00Z', email });
    return request(c.handler)
      .post(hook)
      .set('content-type', 'application/json')
      .set(WEBHOOK_SIGNATURE_HEADER, signWebhook(secret, body, new Date()))
      .send(body);
  };

  test('a rejected record’s error names the field, not the value', async () => {
    const res = await deliver(`Alice Victimson <${ALICE}>`, 'er-1');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'interactions[0].customer.identifiers[0].value', code: 'INVALID_IDENTIFIER', message: 'value is not an email address' },
    ]);
    // Refused as a whole before anything is stored: the connection counts it, with the reason and no value.
    const refusals = await c.app.sql<{ count: number; last_reason: string }>(`SELECT count, last_reason FROM webhook_refusals WHERE connection_id = $1`, [
      hook.split('/').at(-1),
    ]);
    expect(refusals).toEqual([{ count: 1, last_reason: 'PAYLOAD_INVALID' }]);
    const runs = await c.app.sql<{ errors: unknown }>(`SELECT errors FROM connector_runs WHERE kind = 'WEBHOOK'`);
    expect(JSON.stringify(runs)).not.toMatch(/alice/i);
  });

  test('erasure erases run errors and last errors that quote the customer’s identifiers or name', async () => {
    const created = await admin(UPSERT, { i: [{ identifiers: [{ type: 'email', value: ALICE }], displayName: 'Alice Victimson' }] });
    const id = created.body.data.upsertCustomers.results[0].customer.id;
    // Messages as a plugin (or an older Rapport) wrote them, next to one that names nobody.
    const [{ id: runId }] = await c.app.sql<{ id: string }>(
      `INSERT INTO connector_runs (kind, status, errors, error) VALUES ('IMPORT', 'FAILED', $1, $2) RETURNING id::text`,
      [
        JSON.stringify([
          { line: 2, code: 'INVALID_IDENTIFIER', message: `"Alice Victimson <${ALICE.toUpperCase()}>" is not an email address` },
          { line: 3, code: 'INVALID_FIELD', message: 'value is not a number' },
        ]),
        'remote answered 404 for Alice Victimson',
      ],
    );
    const [{ id: connectionId }] = await c.app.sql<{ id: string }>(`SELECT id::text FROM connections WHERE name = 'erasure'`);
    await c.app.sql(`UPDATE connections SET last_error = $2 WHERE id = $1`, [connectionId, `no such user ${ALICE}`]);

    const erased = await admin('mutation($id: ID!) { eraseCustomer(id: $id) { tables { table rows } } }', { id });
    expect(erased.body.data.eraseCustomer.tables).toEqual(
      expect.arrayContaining([
        { table: 'connector_runs (error messages erased)', rows: 1 },
        { table: 'connections (last error erased)', rows: 1 },
      ]),
    );
    const [run] = await c.app.sql<{ errors: { message: string }[]; error: string }>(`SELECT errors, error FROM connector_runs WHERE id = $1`, [runId]);
    expect(run!.errors.map((e) => e.message)).toEqual(['[erased: held personal data]', 'value is not a number']);
    expect(run!.error).toBe('[erased: held personal data]');
    expect(await c.app.sql(`SELECT 1 FROM connector_runs WHERE errors::text ILIKE '%alice%' OR error ILIKE '%alice%'`)).toEqual([]);
    expect(await c.app.sql(`SELECT last_error FROM connections WHERE id = $1`, [connectionId])).toEqual([{ last_error: '[erased: held personal data]' }]);
  });
});

describe('Tombstones are unsalted sha256 (other finding 4)', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const LATE = {
    input: [
      {
        customer: { identifiers: [{ type: 'email', value: 'tomb@example.org' }] },
        channel: 'email',
        type: 'click',
        occurredAt: '2026-01-01T00:00:00Z',
        source: 'esp',
        externalId: 'tomb-1',
      },
    ],
    mode: 'PER_ROW',
  };
  const RECORD =
    'mutation($input: [InteractionInput!]!, $mode: BatchMode) { recordInteractions(input: $input, mode: $mode) { accepted results { errors { code } } } }';

  test('an erased identifier is kept as a keyed hash that a copy of the database cannot test guesses against, and still refused', async () => {
    const created = await admin(UPSERT, { i: [{ identifiers: [{ type: 'email', value: 'tomb@example.org' }] }] });
    const before = await c.app.sql<{ value_hash: string }>(`SELECT value_hash FROM identifier_tombstones`);
    await admin('mutation($id: ID!) { eraseCustomer(id: $id) { tombstones } }', { id: created.body.data.upsertCustomers.results[0].customer.id });
    const stored = await c.app.sql<{ value_hash: string }>(
      `SELECT value_hash FROM identifier_tombstones WHERE type = 'email' AND NOT value_hash = ANY($1::text[])`,
      [before.map((b) => b.value_hash)],
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.value_hash).not.toBe(sha256('email:tomb@example.org'));
    expect(stored[0]!.value_hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect((await admin(RECORD, LATE)).body.data.recordInteractions.results[0].errors[0].code).toBe('IDENTIFIER_ERASED');
    expect((await admin('mutation { liftErasureTombstone(identifier: { type: "email", value: "tomb@example.org" }) }')).body.data.liftErasureTombstone).toBe(
      true,
    );
    expect((await admin(RECORD, LATE)).body.data.recordInteractions.accepted).toBe(1);
  });

  test('a tombstone written unkeyed before keeps refusing its identifier and can be lifted', async () => {
    await c.app.sql(`INSERT INTO identifier_tombstones (type, value_hash) VALUES ('phone', $1)`, [sha256('phone:+14155550199')]);
    const late = { ...LATE, input: [{ ...LATE.input[0], customer: { identifiers: [{ type: 'phone', value: '+1 415 555 0199' }] }, externalId: 'tomb-2' }] };
    expect((await admin(RECORD, late)).body.data.recordInteractions.results[0].errors[0].code).toBe('IDENTIFIER_ERASED');
    expect((await admin('mutation { liftErasureTombstone(identifier: { type: "phone", value: "+14155550199" }) }')).body.data.liftErasureTombstone).toBe(true);
    expect(await c.app.sql(`SELECT 1 FROM identifier_tombstones WHERE type = 'phone'`)).toEqual([]);
  });
});

describe('The public web-tracking key can overwrite profiles (item 7)', () => {
  const WRITE_KEY = 'wk_public_security_0123';
  const IDENTITY_SECRET = 'ids_security_0123456789abcdef012345';
  const sign = (value: string) => createHmac('sha256', IDENTITY_SECRET).update(value).digest('hex');
  let hook: string;
  let connectionId: string;
  let victimId: string;
  let n = 0;
  const call = (type: string, fields: Record<string, unknown>) => ({ type, messageId: `wt-${++n}`, timestamp: '2026-01-01T00:00:00Z', ...fields });
  const send = (...batch: Record<string, unknown>[]) =>
    request(c.handler)
      .post(hook)
      .set('content-type', 'text/plain')
      .send(JSON.stringify({ writeKey: WRITE_KEY, batch }));
  const victim = async () =>
    (
      await c.app.sql<{ display_name: string; traits: Record<string, unknown>; types: string[] }>(
        `SELECT display_name, traits, (SELECT array_agg(type || ':' || value ORDER BY type, value) FROM customer_identifiers WHERE customer_id = c.id) AS types FROM customers c WHERE id = $1`,
        [victimId],
      )
    )[0];
  const lastRunErrors = async () =>
    (
      await c.app.sql<{ errors: { code: string }[] }>(`SELECT errors FROM connector_runs WHERE connection_id = $1 ORDER BY id DESC LIMIT 1`, [connectionId])
    )[0]!.errors.map((e) => e.code);

  beforeAll(async () => {
    const created = await admin('mutation($c: JSON!) { createConnection(input: { connector: "web-tracking", name: "site", config: $c }) { id } }', {
      c: { writeKey: WRITE_KEY, identitySecret: IDENTITY_SECRET },
    });
    connectionId = Buffer.from(created.body.data.createConnection.id, 'base64').toString().split(':')[1]!;
    hook = `/hooks/${connectionId}`;
    const upserted = await admin(UPSERT, {
      i: [
        {
          identifiers: [
            { type: 'email', value: 'known@example.org' },
            { type: 'web-user', value: 'u-known' },
          ],
          displayName: 'Kno Wn',
          traits: { plan: 'gold' },
        },
      ],
    });
    victimId = Buffer.from(upserted.body.data.upsertCustomers.results[0].customer.id, 'base64').toString().split(':')[1]!;
  });

  test('an unsigned identify naming a known user id and email changes nothing of theirs and links nothing to them', async () => {
    const before = await victim();
    const res = await send(
      call('identify', { anonymousId: 'attacker-anon', userId: 'u-known', traits: { email: 'known@example.org', name: 'Pwned', plan: 'free' } }),
    );
    expect(res.status).toBe(200);
    expect(await victim()).toEqual(before);
    // The traits went to the attacker's own anonymous profile, which holds nothing but its anonymous id.
    const [own] = await c.app.sql<{ display_name: string; identifiers: string[] }>(
      `SELECT c.display_name, (SELECT array_agg(type || ':' || value) FROM customer_identifiers WHERE customer_id = c.id) AS identifiers
         FROM customers c JOIN customer_identifiers i ON i.customer_id = c.id WHERE i.type = 'anonymous' AND i.value = 'attacker-anon'`,
    );
    expect(own).toEqual({ display_name: 'Pwned', identifiers: ['anonymous:attacker-anon'] });
    // An unsigned track with the victim's user id lands on the attacker's profile too.
    await send(call('track', { anonymousId: 'attacker-anon', userId: 'u-known', event: 'Bought' }));
    expect(await c.app.sql(`SELECT 1 FROM interactions WHERE customer_id = $1`, [victimId])).toEqual([]);
  });

  test('a signed identify links the browser; afterwards unsigned calls cannot touch the now known profile', async () => {
    const linked = await send(
      call('identify', { anonymousId: 'known-browser', userId: 'u-known', userHash: sign('u-known'), traits: { name: 'Known Person' } }),
    );
    expect(linked.body).toEqual({ received: 1 });
    expect((await victim())!.types).toContain('anonymous:known-browser');
    expect((await victim())!.display_name).toBe('Known Person');
    // Someone who learnt that anonymous id, without the user's signature.
    const refused = await send(call('identify', { anonymousId: 'known-browser', traits: { name: 'Pwned again' } }));
    expect(refused.status).toBe(200);
    expect(refused.body).toEqual(linked.body);
    expect((await victim())!.display_name).toBe('Known Person');
    expect(await lastRunErrors()).toEqual(['IDENTITY_UNVERIFIED']);
    // A wrong signature is no signature.
    await send(call('identify', { anonymousId: 'other-browser', userId: 'u-known', userHash: sign('u-other'), traits: { name: 'Pwned' } }));
    expect((await victim())!.types).not.toContain('anonymous:other-browser');
  });

  test('a call with an erased person’s anonymous id is answered like any accepted call; the refusal is in the run', async () => {
    await send(call('page', { anonymousId: 'erased-browser' }));
    const [{ id }] = await c.app.sql<{ id: string }>(
      `SELECT customer_id::text AS id FROM customer_identifiers WHERE type = 'anonymous' AND value = 'erased-browser'`,
    );
    await admin('mutation($id: ID!) { eraseCustomer(id: $id) { tombstones } }', { id: Buffer.from(`Customer:${id}`).toString('base64') });
    const accepted = await send(call('page', { anonymousId: 'a-fresh-browser' }));
    const erased = await send(call('page', { anonymousId: 'erased-browser' }));
    expect(erased.status).toBe(accepted.status);
    expect(erased.body).toEqual(accepted.body);
    expect(JSON.stringify(erased.body)).not.toMatch(/ERASED/);
    expect(await lastRunErrors()).toEqual(['IDENTIFIER_ERASED']);
  });
});

import request from 'supertest';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app';

/**
 * Findings of the adversarial review of the security work, each reproduced
 * over HTTP against the real gateway: input that reached Postgres and came
 * back as a 500 (INTERNAL_SERVER_ERROR) instead of a client error.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** Posts a GraphQL body as given (a string is sent verbatim). */
function post(body: string | { query: string; variables?: unknown }) {
  return request(t.handler)
    .post('/graphql')
    .set('authorization', `Bearer ${TEST_ADMIN_KEY}`)
    .set('content-type', 'application/json')
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}

function codesOf(res: request.Response): (string | undefined)[] {
  return (res.body.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code);
}

const gid = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

describe('500s on input the implementers did not try', () => {
  // One past bigint's maximum, with the 19 digits the id pattern allowed.
  const TOO_BIG = '9223372036854775808';

  test.each([
    ['customer(id:)', `{ customer(id: "${gid('Customer', TOO_BIG)}") { id } }`],
    ['node(id:) of a customer', `{ node(id: "${gid('Customer', TOO_BIG)}") { id } }`],
    ['node(id:) of an interaction', `{ node(id: "${gid('Interaction', TOO_BIG)}") { id } }`],
    ['segment(id:)', `{ segment(id: "${gid('Segment', TOO_BIG)}") { id } }`],
    ['connection(id:)', `{ connection(id: "${gid('Connection', TOO_BIG)}") { id } }`],
    ['connectorRun(id:)', `{ connectorRun(id: "${gid('ConnectorRun', TOO_BIG)}") { id } }`],
    ['customers(filter: {id})', `{ customers(filter: { id: { eq: "${gid('Customer', TOO_BIG)}" } }) { totalCount } }`],
    ['interactions(filter: {customerId})', `{ interactions(filter: { customerId: { eq: "${gid('Customer', TOO_BIG)}" } }) { totalCount } }`],
    ['previewSegment inSegment', `{ previewSegment(rule: { inSegment: "${gid('Segment', TOO_BIG)}" }) { count } }`],
  ])('an id past bigint in %s is a client error or nothing, never a 500', async (_where, query) => {
    const res = await post({ query });
    expect(res.status).toBeLessThan(500);
    expect(codesOf(res)).not.toContain('INTERNAL_SERVER_ERROR');
  });

  test('a date-time in year 0 is INVALID_FIELD, in a filter and in a segment rule', async () => {
    const filter = await post({ query: '{ customers(filter: { createdAt: { gt: "0000-01-01T00:00:00Z" } }) { totalCount } }' });
    expect(codesOf(filter)).toEqual(['INVALID_FIELD']);
    const rule = await post({
      query: 'query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count } }',
      variables: { r: { attribute: { field: 'createdAt', op: 'GT', value: '0000-01-01T00:00:00Z' } } },
    });
    expect(codesOf(rule)).toEqual(['SEGMENT_RULE_INVALID']);
    expect(rule.body.errors[0].extensions.field).toBe('rule.attribute.value');
    // Year 1 is a real instant and still runs.
    const ok = await post({ query: '{ customers(filter: { createdAt: { gt: "0001-01-01T00:00:00Z" } }) { totalCount } }' });
    expect(ok.body.errors).toBeUndefined();
  });

  test('a JSON number past a double (1e400) is INVALID_FIELD naming the field, as a variable and as a literal', async () => {
    const query = 'query($t: [TraitFilter!]) { customers(filter: { traits: $t }) { totalCount } }';
    const asVariable = await post(`{"query":${JSON.stringify(query)},"variables":{"t":[{"path":"age","eq":1e400}]}}`);
    expect(asVariable.body.errors.map((e: { extensions: unknown }) => e.extensions)).toEqual([{ code: 'INVALID_FIELD', field: '$t[0].eq' }]);
    const literal = await post({ query: '{ customers(filter: { traits: [{ path: "age", eq: 1e400 }] }) { totalCount } }' });
    expect(codesOf(literal)).toEqual(['INVALID_FIELD']);
  });
});

describe('filters cannot hold the database', () => {
  // ILIKE costs the pattern's length on every row: on the demo data, 10,000 characters took 13 s and 100,000 minutes.
  const long = 'é'.repeat(10_000);

  test.each([
    ['interactions', 'channel.contains', 'query($s: String) { interactions(filter: { channel: { contains: $s } }) { totalCount } }'],
    ['interactions', 'externalId.startsWith', 'query($s: String) { interactions(filter: { externalId: { startsWith: $s } }) { totalCount } }'],
    ['customers', 'lifecycleStage.contains', 'query($s: String) { customers(filter: { lifecycleStage: { contains: $s } }) { totalCount } }'],
    ['customers', 'owner.in[1]', 'query($s: String!) { customers(filter: { or: [{ owner: { in: ["a", $s] } }] }) { totalCount } }'],
  ])('a filter of %s with a text longer than any stored value is VALIDATION_FAILED naming %s', async (_list, field, query) => {
    const res = await post({ query, variables: { s: long } });
    expect(res.body.errors?.map((e: { extensions: unknown }) => e.extensions)).toEqual([{ code: 'VALIDATION_FAILED', field }]);
  });

  test('a trait contains longer than a rule text is VALIDATION_FAILED; one of 256 characters still runs', async () => {
    const query = 'query($t: [TraitFilter!]) { customers(filter: { traits: $t }) { totalCount } }';
    const res = await post({ query, variables: { t: [{ path: 'plan', contains: long }] } });
    expect(res.body.errors?.map((e: { extensions: unknown }) => e.extensions)).toEqual([{ code: 'VALIDATION_FAILED', field: 'traits[0].contains' }]);
    const ok = await post({
      query: 'query($s: String) { interactions(filter: { channel: { contains: $s } }) { totalCount } }',
      variables: { s: 'é'.repeat(256) },
    });
    expect(ok.body).toEqual({ data: { interactions: { totalCount: 0 } } });
  });
});

test('an id argument that is not an id is BAD_REQUEST naming the field, without quoting the value', async () => {
  const res = await post({ query: 'mutation { refreshSegment(id: "carol.secret@example.org") { id } }' });
  expect(res.body.errors.map((e: { extensions: unknown }) => e.extensions)).toEqual([{ code: 'BAD_REQUEST', field: 'id' }]);
  expect(JSON.stringify(res.body)).not.toContain('carol');
});

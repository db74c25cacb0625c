import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { startTestApp, type TestApp } from '../helpers/app';
import { errorOf, expectNoSecrets, seedPersonalWorld, SECRETS, VICTIM, type PersonalWorld, type UntypedData } from '../helpers/personal-data';

/**
 * Personal data through read paths with a key lacking pii:read (issue 16,
 * "Personal data through a narrow key", items 1 to 5). The narrow key holds
 * every other scope, so only pii:read stands between it and the data.
 */
let app: TestApp;
let w: PersonalWorld;

beforeAll(async () => {
  app = await startTestApp();
  w = await seedPersonalWorld(app);
});
afterAll(() => app.close());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const opened = (cursor: string) => Buffer.from(cursor, 'base64url').toString('latin1');

describe('1. Cursors carry sort values in clear', () => {
  const BY_NAME = `query($after: String) { customers(first: 2, after: $after, orderBy: [{ field: DISPLAY_NAME }]) {
    edges { cursor node { id displayName } } pageInfo { endCursor hasNextPage } } }`;

  test('ordering by name: cursors are opaque (no name, no JSON inside) and still page through every customer once', async () => {
    const seen: string[] = [];
    const cursors: string[] = [];
    let after: string | null = null;
    do {
      const res = await w.post(w.pii, BY_NAME, { after });
      expect(res.errors).toBeUndefined();
      const page = res.data!.customers;
      seen.push(...page.edges.map((e: { node: { displayName: string } }) => e.node.displayName));
      cursors.push(...page.edges.map((e: { cursor: string }) => e.cursor), page.pageInfo.endCursor);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(['Acme Corp', 'Alice Victimson', 'Bob Builder', 'Carol Client', 'Dave Doe']);
    for (const cursor of cursors) {
      const inside = opened(cursor);
      for (const name of [...seen, ...seen.map((n) => n.split(' ')[0])]) expect(inside).not.toContain(name);
      expect(inside).not.toMatch(/^\["|^\[\d/);
    }
  });

  test('without pii:read, ordering by DISPLAY_NAME is FORBIDDEN (the order would spell the names)', async () => {
    const res = await w.post(w.narrow, BY_NAME);
    expect(errorOf(res)).toEqual({ code: 'FORBIDDEN', field: 'orderBy[0].field' });
    expect(res.data?.customers ?? null).toBeNull();
    const other = await w.post(w.narrow, '{ customers(first: 2, orderBy: [{ field: LAST_SEEN_AT, direction: DESC }]) { edges { cursor } } }');
    expect(other.errors).toBeUndefined();
  });

  test('a forged, tampered, foreign or garbled cursor answers INVALID_CURSOR naming after, on every list, never 500', async () => {
    const first = await w.post(w.pii, '{ customers(first: 1, orderBy: [{ field: ID }]) { pageInfo { endCursor } } }');
    const genuine: string = first.data!.customers.pageInfo.endCursor;
    const flipped = Buffer.from(genuine, 'base64url');
    flipped[flipped.length - 1] ^= 1;
    const bad = [
      b64(['notatime', '1']),
      b64(['1']),
      b64(['2026-01-01T00:00:00Z', '1']),
      flipped.toString('base64url'),
      'not a cursor',
      '%%%',
      'A'.repeat(5000),
    ];
    const lists = [
      ['customers (default order)', 'query($a: String) { customers(first: 1, after: $a) { totalCount } }'],
      ['customers (by ID)', 'query($a: String) { customers(first: 1, after: $a, orderBy: [{ field: ID }]) { totalCount } }'],
      ['interactions', 'query($a: String) { interactions(first: 1, after: $a) { totalCount } }'],
      ['customer interactions', `query($a: String) { customer(id: "${w.cid(VICTIM.name)}") { interactions(first: 1, after: $a) { totalCount } } }`],
      ['organisation members', `query($a: String) { customer(id: "${w.cid('Acme Corp')}") { members(first: 1, after: $a) { totalCount } } }`],
      ['segments', 'query($a: String) { segments(first: 1, after: $a) { totalCount } }'],
      ['segment members', `query($a: String) { segment(id: "${w.segments.contact}") { members(first: 1, after: $a) { totalCount } } }`],
      ['connections', 'query($a: String) { connections(first: 1, after: $a) { totalCount } }'],
      ['connector runs', `query($a: String) { connection(id: "${w.connection}") { runs(first: 1, after: $a) { totalCount } } }`],
      ['audit log', 'query($a: String) { auditLog(first: 1, after: $a) { hasNextPage } }'],
    ] as const;
    for (const [list, query] of lists) {
      for (const cursor of bad) {
        const res = await w.post(w.pii, query, { a: cursor });
        expect({ list, cursor: cursor.slice(0, 40), status: res.status, error: errorOf(res) }).toEqual({
          list,
          cursor: cursor.slice(0, 40),
          status: 200,
          error: { code: 'INVALID_CURSOR', field: 'after' },
        });
      }
    }
    // A genuine cursor of one ordering is refused by another, rather than read as its values.
    const other = await w.post(w.pii, 'query($a: String) { customers(first: 1, after: $a, orderBy: [{ field: CREATED_AT }]) { totalCount } }', { a: genuine });
    expect(errorOf(other)).toEqual({ code: 'INVALID_CURSOR', field: 'after' });
  });

  test('every list pages on with its own opaque cursors (segments, runs, members, audit log)', async () => {
    const pages = [
      [
        'segments',
        (a: string | null) => w.post(w.narrow, 'query($a: String) { segments(first: 1, after: $a) { edges { node { id } } pageInfo { endCursor } } }', { a }),
        (d: UntypedData) => d.segments,
      ],
      [
        'runs',
        (a: string | null) =>
          w.post(
            w.narrow,
            `query($a: String) { connection(id: "${w.connection}") { runs(first: 1, after: $a) { edges { node { id } } pageInfo { endCursor } } } }`,
            { a },
          ),
        (d: UntypedData) => d.connection.runs,
      ],
      [
        'members',
        (a: string | null) =>
          w.post(
            w.narrow,
            `query($a: String) { customer(id: "${w.cid('Acme Corp')}") { members(first: 1, after: $a) { edges { node { id } } pageInfo { endCursor } } } }`,
            { a },
          ),
        (d: UntypedData) => d.customer.members,
      ],
    ] as const;
    for (const [name, fetch, pick] of pages) {
      const one = pick((await fetch(null)).data!);
      expect({ name, inside: opened(one.pageInfo.endCursor) }).not.toEqual({ name, inside: expect.stringMatching(/^\[/) });
      const two = await fetch(one.pageInfo.endCursor);
      expect({ name, errors: two.errors }).toEqual({ name, errors: undefined });
      expect(pick(two.data!).edges[0].node.id).not.toBe(one.edges[0].node.id);
    }
    const audit = await w.post(w.narrow, '{ auditLog(first: 1) { entries { id } endCursor } }');
    // A one-digit id may well occur among random bytes: what must not be there is the clear JSON of the position.
    expect(opened(audit.data!.auditLog.endCursor)).not.toMatch(/^\[|"id"/);
    const next = await w.post(w.narrow, 'query($a: String) { auditLog(first: 1, after: $a) { entries { id } } }', { a: audit.data!.auditLog.endCursor });
    expect(next.errors).toBeUndefined();
    expect(next.data!.auditLog.entries[0]?.id).not.toBe(audit.data!.auditLog.entries[0].id);
  });

  test('a cursor sealed under another server secret is INVALID_CURSOR (cursors expire with the key)', async () => {
    const before = await w.post(w.pii, '{ customers(first: 1) { pageInfo { endCursor } } }');
    const cursor: string = before.data!.customers.pageInfo.endCursor;
    // A gateway keyed with a configured secret: the cursor of a process without it does not open there.
    const other = await startTestApp({ env: { RAPPORT_SECRET_KEY: randomBytes(32).toString('base64') } });
    try {
      const { status, body } = await request(other.handler)
        .post('/graphql')
        .set('authorization', other.auth)
        .send({ query: 'query($a: String) { customers(first: 1, after: $a) { totalCount } }', variables: { a: cursor } });
      expect(status).toBe(200);
      expect(body.errors[0].extensions).toEqual({ code: 'INVALID_CURSOR', field: 'after' });
    } finally {
      await other.close();
    }
  });
});

describe('2. previewSegment is an oracle', () => {
  const PREVIEW = 'query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { count sample { id } } }';
  const personalRules: [string, unknown, string][] = [
    ['a name prefix', { attribute: { field: 'displayName', op: 'STARTS_WITH', value: 'A' } }, 'rule.attribute.field'],
    ['a personal trait', { attribute: { field: 'traits.ssn', op: 'STARTS_WITH', value: '1' } }, 'rule.attribute.field'],
    ['a personal trait in another case', { attribute: { field: 'traits.SSN', op: 'EXISTS' } }, 'rule.attribute.field'],
    ['a personal trait nested in an object', { attribute: { field: 'traits.contact.email', op: 'CONTAINS', value: 'alice' } }, 'rule.attribute.field'],
    [
      'a personal trait deep in a rule',
      {
        and: [
          { attribute: { field: 'lifecycleStage', op: 'EQ', value: 'customer' } },
          { not: { or: [{ attribute: { field: 'traits.profile.first_name', op: 'EQ', value: 'Alice' } }] } },
        ],
      },
      'rule.and[1].not.or[0].attribute.field',
    ],
    [
      'a personal interaction property',
      { behavior: { type: 'purchase', where: [{ path: 'email', op: 'CONTAINS', value: 'alice' }], op: 'GTE', value: 1 } },
      'rule.behavior.where[0].path',
    ],
    [
      'a nested personal property',
      {
        behavior: {
          where: [
            { path: 'sku', op: 'EQ', value: 'A-1' },
            { path: 'contact.Phone', op: 'STARTS_WITH', value: '+33' },
          ],
          op: 'GTE',
          value: 1,
        },
      },
      'rule.behavior.where[1].path',
    ],
  ];

  test.each(personalRules)('without pii:read, a rule on %s is FORBIDDEN at its path, before anything is counted', async (_what, rule, field) => {
    const res = await w.post(w.narrow, PREVIEW, { rule });
    expect(errorOf(res)).toEqual({ code: 'FORBIDDEN', field });
    expect(res.data?.previewSegment ?? null).toBeNull();
  });

  test('bisection on a name gets nowhere: every probe is refused alike, match or not', async () => {
    const answers = new Set<string>();
    for (const prefix of ['A', 'Al', 'Ali', 'Z', 'Zz']) {
      const res = await w.post(w.narrow, PREVIEW, { rule: { attribute: { field: 'displayName', op: 'STARTS_WITH', value: prefix } } });
      answers.add(JSON.stringify({ data: res.data, code: res.errors?.[0]?.extensions?.code }));
    }
    expect([...answers]).toEqual([JSON.stringify({ data: null, code: 'FORBIDDEN' })]);
    // With pii:read the same rules preview; without it impersonal rules still do.
    const full = await w.post(w.pii, PREVIEW, { rule: personalRules[0][1] });
    expect(full.data!.previewSegment.count).toBe(2);
    const impersonal = await w.post(w.narrow, PREVIEW, { rule: { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } } });
    expect(impersonal.errors).toBeUndefined();
    expect(impersonal.data!.previewSegment.count).toBe(3);
  });

  test('createSegment and updateSegment refuse such rules without pii:read, and store nothing', async () => {
    const before = await app.sql<{ n: number }>('SELECT count(*)::int AS n FROM segments');
    const created = await w.post(w.narrow, 'mutation($input: SegmentInput!) { createSegment(input: $input) { id } }', {
      input: { name: 'oracle', rule: { attribute: { field: 'traits.Email', op: 'STARTS_WITH', value: 'a' } } },
    });
    expect(errorOf(created)).toEqual({ code: 'FORBIDDEN', field: 'input.rule.attribute.field' });
    const updated = await w.post(w.narrow, 'mutation($id: ID!, $input: SegmentInput!) { updateSegment(id: $id, input: $input) { id } }', {
      id: w.segments.contact,
      input: { name: 'finance with a contact', rule: { attribute: { field: 'displayName', op: 'CONTAINS', value: 'vic' } } },
    });
    expect(errorOf(updated)).toEqual({ code: 'FORBIDDEN', field: 'input.rule.attribute.field' });
    expect(await app.sql<{ n: number }>('SELECT count(*)::int AS n FROM segments')).toEqual(before);
    const [stored] = await app.sql<{ rule: unknown }>(`SELECT rule FROM segments WHERE name = 'finance with a contact'`);
    expect(JSON.stringify(stored.rule)).not.toContain('displayName');
  });

  test('a rule using a segment defined on personal data (directly or through another) is refused too', async () => {
    for (const id of [w.segments.personal, w.segments.transitive]) {
      const res = await w.post(w.narrow, PREVIEW, {
        rule: { and: [{ attribute: { field: 'lifecycleStage', op: 'EQ', value: 'customer' } }, { inSegment: id }] },
      });
      expect(errorOf(res)).toEqual({ code: 'FORBIDDEN', field: 'rule.and[1].inSegment' });
    }
  });

  test('a stored segment on personal data shows its members only with pii:read', async () => {
    for (const id of [w.segments.personal, w.segments.transitive]) {
      const members = await w.post(w.narrow, `{ segment(id: "${id}") { name size members(first: 10) { edges { node { id } } } } }`);
      expect(errorOf(members)).toEqual({ code: 'FORBIDDEN', field: 'members' });
      const history = await w.post(w.narrow, `{ segment(id: "${id}") { history(first: 10) { customer { id } } } }`);
      expect(errorOf(history)).toEqual({ code: 'FORBIDDEN', field: 'history' });
      const explain = await w.post(w.narrow, `{ explainMembership(segmentId: "${id}", customerId: "${w.cid(VICTIM.name)}") { isMember } }`);
      expect(errorOf(explain)).toEqual({ code: 'FORBIDDEN', field: 'segmentId' });
      const full = await w.post(w.pii, `{ segment(id: "${id}") { members(first: 10) { edges { node { id } } } history(first: 10) { kind } } }`);
      expect(full.data!.segment.members.edges).toEqual([{ node: { id: w.cid(VICTIM.name) } }]);
      expect(full.data!.segment.history).toEqual([{ kind: 'ENTERED' }]);
    }
    const query = `{ customer(id: "${w.cid(VICTIM.name)}") { segments { id } segmentHistory(first: 10) { segment { id } } } }`;
    const narrow = await w.post(w.narrow, query);
    expect(narrow.data!.customer).toEqual({ segments: [{ id: w.segments.contact }], segmentHistory: [{ segment: { id: w.segments.contact } }] });
    const full = await w.post(w.pii, query);
    expect(full.data!.customer.segments.map((s: { id: string }) => s.id).sort()).toEqual(
      [w.segments.personal, w.segments.transitive, w.segments.contact].sort(),
    );
  });

  test('the rule of such a segment is shown with its compared values masked', async () => {
    const narrow = await w.post(w.narrow, `{ segment(id: "${w.segments.personal}") { rule } }`);
    expect(narrow.data!.segment.rule).toEqual({ attribute: { field: 'traits.ssn', op: 'EQ', value: '•••' } });
    const full = await w.post(w.pii, `{ segment(id: "${w.segments.personal}") { rule } }`);
    expect(full.data!.segment.rule.attribute.value).toBe(VICTIM.ssn);
  });
});

describe('3. explainMembership figures', () => {
  const EXPLAIN = (segmentId: string) =>
    `{ explainMembership(segmentId: "${segmentId}", customerId: "${w.cid(VICTIM.name)}") { isMember conditions { path holds figure description } } }`;

  test('without pii:read, a trait figure holding an object comes back with its personal keys masked, in figure and description', async () => {
    const res = await w.post(w.narrow, EXPLAIN(w.segments.contact));
    expect(res.errors).toBeUndefined();
    const contact = res.data!.explainMembership.conditions.find((c: { path: string }) => c.path === 'rule.and[0].attribute');
    expect(contact.figure).toEqual({ email: '•••', city: 'Paris' });
    expect(contact.description).toContain('"email":"•••"');
    expectNoSecrets(res);
    const full = await w.post(w.pii, EXPLAIN(w.segments.contact));
    expect(full.data!.explainMembership.conditions[1].figure).toEqual({ email: VICTIM.email, city: 'Paris' });
  });

  test('the explanation of a segment on personal data is refused, and never echoes the compared value', async () => {
    const res = await w.post(w.narrow, EXPLAIN(w.segments.personal));
    expect(errorOf(res)).toEqual({ code: 'FORBIDDEN', field: 'segmentId' });
    expectNoSecrets(res);
    const full = await w.post(w.pii, EXPLAIN(w.segments.personal));
    expect(full.data!.explainMembership.conditions[0]).toMatchObject({ holds: true, figure: VICTIM.ssn });
  });

  test('every kind of condition is explained, a consent condition included (no 500)', async () => {
    const created = await w.post(w.pii, 'mutation($input: SegmentInput!) { createSegment(input: $input) { id } }', {
      input: {
        name: 'consenting finance',
        rule: { and: [{ consent: { purpose: 'marketing' } }, { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } }] },
      },
    });
    const res = await w.post(
      w.narrow,
      `{ explainMembership(segmentId: "${created.data!.createSegment.id}", customerId: "${w.cid(VICTIM.name)}") { conditions { kind holds description } } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.explainMembership.conditions.map((c: { kind: string }) => c.kind)).toEqual(['AND', 'CONSENT', 'ATTRIBUTE']);
    expect(res.data!.explainMembership.conditions[1]).toEqual({
      kind: 'CONSENT',
      holds: false,
      description: 'consent for marketing on every channel: none recorded; wanted GRANTED',
    });
  });
});

describe('4. Nested traits escape masking', () => {
  test('personal trait names are masked at any depth and in any case; other traits are not', async () => {
    const res = await w.post(w.narrow, `{ customer(id: "${w.cid(VICTIM.name)}") { traits } }`);
    expect(res.data!.customer.traits).toEqual({
      ssn: '•••',
      Email: '•••',
      industry: 'finance',
      contact: { email: '•••', city: 'Paris' },
      contacts: [{ EMAIL: '•••', kind: 'work' }],
      profile: { first_name: '•••', last_name: '•••' },
    });
    expectNoSecrets(res);
    const full = await w.post(w.pii, `{ customer(id: "${w.cid(VICTIM.name)}") { traits } }`);
    expect(full.data!.customer.traits.contact.email).toBe(VICTIM.email);
  });

  test('filters on nested or differently cased personal traits, or comparing with a value naming one, are FORBIDDEN', async () => {
    const cases: [unknown, string][] = [
      [{ traits: [{ path: 'contact.email', contains: 'alice' }] }, 'filter.traits[0].path'],
      [{ traits: [{ path: 'Email', eq: VICTIM.email }] }, 'filter.traits[0].path'],
      [{ traits: [{ path: 'profile.FIRST_NAME', exists: true }] }, 'filter.traits[0].path'],
      [
        {
          or: [
            {
              traits: [
                { path: 'industry', eq: 'finance' },
                { path: 'contact', eq: { email: VICTIM.email, city: 'Paris' } },
              ],
            },
          ],
        },
        'filter.or[0].traits[1].eq',
      ],
      [{ traits: [{ path: 'contacts', in: [[{ EMAIL: VICTIM.email, kind: 'work' }]] }] }, 'filter.traits[0].in'],
    ];
    for (const [filter, field] of cases) {
      const res = await w.post(w.narrow, 'query($f: CustomerFilter) { customers(filter: $f) { totalCount } }', { f: filter });
      expect({ filter, error: errorOf(res) }).toEqual({ filter, error: { code: 'FORBIDDEN', field } });
    }
  });

  test('contains on an object path cannot search the personal keys inside it', async () => {
    const res = await w.post(w.narrow, '{ customers(filter: { traits: [{ path: "contact", contains: "alice.victim" }] }) { totalCount } }');
    expect(res.errors).toBeUndefined();
    expect(res.data!.customers.totalCount).toBe(0);
    const scalar = await w.post(w.narrow, '{ customers(filter: { traits: [{ path: "industry", contains: "FIN" }] }) { totalCount } }');
    expect(scalar.data!.customers.totalCount).toBe(3);
  });
});

describe('5. Interaction properties', () => {
  test('personal properties are masked at any depth without pii:read, on every path to an interaction', async () => {
    const queries = [
      '{ interactions(first: 10, filter: { type: { eq: "purchase" } }) { edges { node { properties } } } }',
      `{ customer(id: "${w.cid(VICTIM.name)}") { interactions(first: 10, filter: { type: { eq: "purchase" } }) { edges { node { properties } } } } }`,
    ];
    for (const query of queries) {
      const res = await w.post(w.narrow, query);
      expect(res.errors).toBeUndefined();
      const edges = (res.data!.interactions ?? res.data!.customer.interactions).edges;
      expect(edges.map((e: { node: { properties: unknown } }) => e.node.properties)).toEqual([
        { email: '•••', name: '•••', phone: '•••', contact: { Phone: '•••' }, sku: 'A-1' },
      ]);
      expectNoSecrets(res);
    }
    const full = await w.post(w.pii, queries[0]);
    expect(full.data!.interactions.edges[0].node.properties).toMatchObject({ email: VICTIM.email, contact: { Phone: VICTIM.phone } });
  });

  test('segment behaviour conditions on personal properties are refused without pii:read, allowed with it', async () => {
    const rule = (path: string) => ({ behavior: { where: [{ path, op: 'STARTS_WITH', value: 'Alice' }], op: 'GTE', value: 1 } });
    for (const path of ['name', 'Name', 'contact.phone']) {
      const narrow = await w.post(w.narrow, 'query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count } }', { r: rule(path) });
      expect({ path, error: errorOf(narrow) }).toEqual({ path, error: { code: 'FORBIDDEN', field: 'rule.behavior.where[0].path' } });
    }
    const full = await w.post(w.pii, 'query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count } }', { r: rule('name') });
    expect(full.data!.previewSegment.count).toBe(1);
  });

  test('RAPPORT_PERSONAL_PROPERTIES names the personal properties (comma-separated, default like traits)', () => {
    expect(loadConfig({ RAPPORT_PERSONAL_PROPERTIES: 'email, coupon ,,device_id' }).auth.personalProperties).toEqual(['email', 'coupon', 'device_id']);
    expect(loadConfig({}).auth.personalProperties).toEqual(expect.arrayContaining(['email', 'phone', 'name']));
  });
});

test('the victim’s values are stored in clear for pii:read callers (the fixtures hold what the tests look for)', async () => {
  const res = await w.post(
    w.pii,
    `{ customer(id: "${w.cid(VICTIM.name)}") { displayName traits identifiers { value } interactions { edges { node { properties } } } } }`,
  );
  for (const secret of SECRETS) expect(res.text).toContain(secret);
});

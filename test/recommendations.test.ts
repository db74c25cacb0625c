import request from 'supertest';
import { globalId, localId } from '../src/graphql/ids';
import type { Scope } from '../src/modules/access/scopes';
import {
  AddToSegmentDocument,
  CreateSegmentDocument,
  CustomerRecommendationsDocument,
  ExplainMembershipDocument,
  ProductAudienceDocument,
  RecomputeJobDocument,
  RecomputeRecommendationsDocument,
  RecommendationModelDocument,
  RecordInteractionsDocument,
  RecommendationsPageDocument,
  SegmentDetailDocument,
  SimilarProductsDocument,
  UpdateRecommendationModelDocument,
  UpsertCustomersDocument,
  type InteractionInput,
} from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';

const DAY_MS = 86_400_000;

/**
 * Two product families that customers buy within: X1, X2, X3 and Y1, Y2.
 * `target` has X1 only; `newbie` has no purchase and belongs to Orbit, whose
 * members buy Y; `loner` and `solo` have no purchase and no organisation
 * (`solo` is put in segments by a test).
 */
const PURCHASES: Record<string, string[]> = {
  ada: ['X1', 'X2'],
  bob: ['X1', 'X2', 'X3'],
  cy: ['X2', 'X3'],
  dee: ['X1', 'X2'],
  eve: ['Y1', 'Y2'],
  fay: ['Y1', 'Y2'],
  gus: ['Y2'],
  hal: ['Y1', 'Y2'],
  target: ['X1'],
};
const ORBIT_MEMBERS = ['gus', 'hal', 'newbie'];

const email = (name: string) => `${name}@example.com`;

function purchase(name: string, product: string, daysAgo: number, n: number): InteractionInput {
  return {
    customer: { identifiers: [{ type: 'email', value: email(name) }] },
    channel: 'payment',
    type: 'purchase',
    occurredAt: new Date(Date.now() - daysAgo * DAY_MS).toISOString(),
    value: 10,
    properties: { product },
    source: 'recommendations-test',
    externalId: `${name}-${product}-${n}`,
  };
}

async function seedWorld(app: TestApp) {
  const names = [...Object.keys(PURCHASES), 'newbie', 'loner', 'solo'];
  const upsert = await app.graphql(UpsertCustomersDocument, {
    input: names.map((name) => ({
      identifiers: [{ type: 'email', value: email(name) }],
      displayName: `${name[0].toUpperCase()}${name.slice(1)} Example`,
      ...(ORBIT_MEMBERS.includes(name) ? { organization: { identifiers: [{ type: 'crm', value: 'orbit' }] } } : {}),
    })),
  });
  expect(upsert.errors).toBeUndefined();
  const input = Object.entries(PURCHASES).flatMap(([name, products]) => products.map((p, i) => purchase(name, p, 30 - i, i)));
  // The newcomers interacted, but never with a product.
  for (const name of ['newbie', 'loner', 'solo']) {
    input.push({
      customer: { identifiers: [{ type: 'email', value: email(name) }] },
      channel: 'email',
      type: 'open',
      occurredAt: new Date(Date.now() - DAY_MS).toISOString(),
      source: 'recommendations-test',
      externalId: `${name}-open`,
    });
  }
  const recorded = await app.graphql(RecordInteractionsDocument, { input });
  expect(recorded.errors).toBeUndefined();
  expect(recorded.data!.recordInteractions.rejected).toBe(0);
}

async function customerGid(app: TestApp, name: string): Promise<string> {
  const [row] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE type = 'email' AND value = $1`, [email(name)]);
  return globalId('Customer', row.id);
}

async function recompute(app: TestApp) {
  const started = await app.graphql(RecomputeRecommendationsDocument, {});
  expect(started.errors).toBeUndefined();
  const id = started.data!.recomputeRecommendations.id;
  return eventually(async () => {
    const { data } = await app.graphql(RecomputeJobDocument, { id });
    const job = data!.recomputeJob!;
    if (job.status === 'FAILED') throw new Error(`recompute failed: ${job.error}`);
    return job.status === 'COMPLETED' ? job : undefined;
  });
}

async function recommendations(app: TestApp, name: string, first?: number) {
  const { data, errors } = await app.graphql(CustomerRecommendationsDocument, { id: await customerGid(app, name), first });
  expect(errors).toBeUndefined();
  return data!.customer!.recommendations;
}

async function keyWith(app: TestApp, scopes: Scope[]): Promise<string> {
  const res = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({ query: 'mutation($s: [String!]!) { createApiKey(name: "recs", scopes: $s) { key } }', variables: { s: scopes } });
  return res.body.data.createApiKey.key;
}

describe.each(['postgres', 'redis'] as const)('recommendations with workers on the %s queue backend', (backend) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ workers: true, queue: backend });
    await seedWorld(app);
    const job = await recompute(app);
    expect(job.progress).toBe(100);
  });
  afterAll(() => app.close());

  test('recommendationModel shows the settings with defaults, the fitted state and diagnostics', async () => {
    const { data } = await app.graphql(RecommendationModelDocument, {});
    const model = data!.recommendationModel;
    expect(model.settings).toMatchObject({ productProperty: 'product', interactionTypes: { purchase: 1, order: 1 }, excludeOwned: true, algorithm: 'RP3BETA' });
    expect(model.fitted).toMatchObject({ productProperty: 'product', algorithm: 'RP3BETA', keep: 20 });
    // Scored: the customers with a product of their family left (ada, cy, dee, gus, target).
    expect(model.diagnostics).toMatchObject({ customers: 9, products: 5, customersScored: 5 });
    expect(model.version).toBe(1);
    expect(model.fittedAt).not.toBeNull();
  });

  test('a customer gets the products of their family they do not have, best first, explained by their own products', async () => {
    const recs = await recommendations(app, 'target');
    expect(recs.map((r) => r.product)).toEqual(['X2', 'X3']);
    expect(recs.map((r) => r.rank)).toEqual([1, 2]);
    expect(recs.every((r) => r.basis === 'HISTORY')).toBe(true);
    // One product owned: the whole score comes from it.
    for (const r of recs) {
      expect(r.because).toHaveLength(1);
      expect(r.because[0]).toMatchObject({ kind: 'OWNED_PRODUCT', product: 'X1' });
      expect(r.because[0].weight).toBeCloseTo(r.score, 6);
      expect(r.because[0].text).toContain('X1');
    }
    expect(recs[0].score).toBeGreaterThan(recs[1].score);
    // Owned products are left out; first limits the list. Bob has every X and no Y: the model has nothing new for him.
    const bob = await recommendations(app, 'bob');
    expect(bob.map((r) => [r.product, r.basis])).toEqual([
      ['Y2', 'POPULAR'],
      ['Y1', 'POPULAR'],
    ]);
    expect(bob[0].because[0].text).toMatch(/^nothing new that the customer's products point to: popular with all customers/);
    expect((await recommendations(app, 'target', 1)).map((r) => r.product)).toEqual(['X2']);
  });

  test('without product history: popular in the organisation, else overall, and the explanation says so', async () => {
    const newbie = await recommendations(app, 'newbie');
    expect(newbie.map((r) => r.product)).toEqual(['Y2', 'Y1']);
    expect(newbie[0]).toMatchObject({ basis: 'ORGANIZATION', because: [{ kind: 'POPULAR_IN_ORGANIZATION', product: null }] });
    expect(newbie[0].because[0].text).toMatch(/no product history yet: popular in the customer's organisation/);
    const loner = await recommendations(app, 'loner', 5);
    expect(loner.map((r) => r.basis)).toEqual(['POPULAR', 'POPULAR', 'POPULAR', 'POPULAR', 'POPULAR']);
    // X1, X2 and Y2 are each taken by four customers, Y1 by three, X3 by two.
    expect(new Set(loner.slice(0, 3).map((r) => r.product))).toEqual(new Set(['X1', 'X2', 'Y2']));
    expect(loner.slice(3).map((r) => r.product)).toEqual(['Y1', 'X3']);
    expect(loner[0].because[0].text).toMatch(/popular with all customers/);
  });

  test('similarProducts lists a product’s neighbours strongest first', async () => {
    const { data } = await app.graphql(SimilarProductsDocument, { product: 'X1' });
    expect(data!.similarProducts.map((p) => p.product)).toEqual(['X2', 'X3']);
    expect(data!.similarProducts[0].weight).toBeGreaterThan(data!.similarProducts[1].weight);
    const none = await app.graphql(SimilarProductsDocument, { product: 'nothing' });
    expect(none.data!.similarProducts).toEqual([]);
    const tooMany = await app.graphql(SimilarProductsDocument, { product: 'X1', first: 1000 });
    expect(tooMany.errors![0].extensions).toMatchObject({ code: 'PAGE_SIZE_EXCEEDED', field: 'first' });
  });

  test('a purchase updates the customer’s recommendations, their audiences and recommendation segments within seconds', async () => {
    const segment = await app.graphql(CreateSegmentDocument, {
      input: { name: `X3 first ${backend}`, rule: { recommended: { product: 'X3', rankAtMost: 1 } } },
    });
    expect(segment.errors).toBeUndefined();
    const segmentId = segment.data!.createSegment.id;
    const members = async () => {
      const { data } = await app.graphql(SegmentDetailDocument, { id: segmentId, first: 50 });
      return data!.segment!.status === 'FRESH' ? data!.segment!.members.edges.map((e) => e.node.id).sort() : undefined;
    };
    const before = [await customerGid(app, 'ada'), await customerGid(app, 'dee')].sort();
    expect(await eventually(members)).toEqual(before);

    const recorded = await app.graphql(RecordInteractionsDocument, { input: [purchase('target', 'X2', 0, 9)] });
    expect(recorded.data!.recordInteractions.rejected).toBe(0);
    const after = await eventually(async () => {
      const recs = await recommendations(app, 'target');
      return recs.map((r) => r.product).join() === 'X3' ? recs : undefined;
    });
    // Now both of the customer's products point to X3.
    expect(after[0].because.map((b) => b.product).sort()).toEqual(['X1', 'X2']);
    expect(after[0].because.reduce((sum, b) => sum + b.weight, 0)).toBeCloseTo(after[0].score, 6);
    const target = await customerGid(app, 'target');
    await eventually(async () => {
      const m = await members();
      return m && m.includes(target) ? m : undefined;
    });
    const audience = await app.graphql(ProductAudienceDocument, { product: 'X3' });
    expect(audience.data!.productAudience.edges.map((e) => e.node.id)).toContain(target);
  });

  test('productAudience pages the customers a product is recommended to, highest score first', async () => {
    const all = await app.graphql(ProductAudienceDocument, { product: 'X3', first: 50 });
    const edges = all.data!.productAudience.edges;
    expect(edges.length).toBeGreaterThanOrEqual(2);
    expect(all.data!.productAudience.totalCount).toBe(edges.length);
    const scores = edges.map((e) => e.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(edges.every((e) => e.rank >= 1)).toBe(true);
    const page1 = await app.graphql(ProductAudienceDocument, { product: 'X3', first: 1 });
    expect(page1.data!.productAudience.pageInfo.hasNextPage).toBe(true);
    const page2 = await app.graphql(ProductAudienceDocument, { product: 'X3', first: 50, after: page1.data!.productAudience.pageInfo.endCursor });
    expect([page1, page2].flatMap((p) => p.data!.productAudience.edges.map((e) => e.node.id))).toEqual(edges.map((e) => e.node.id));
    const forged = await app.graphql(ProductAudienceDocument, { product: 'X3', after: 'not-a-cursor' });
    expect(forged.errors![0].extensions).toMatchObject({ code: 'INVALID_CURSOR', field: 'after' });
  });
});

describe('recommendations: settings, exclusion, scopes and personal data', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    await seedWorld(app);
    await app.runtime.services.recommendations.recompute();
  });
  afterAll(() => app.close());

  test('settings are validated with a stable code and the field at fault; nothing is stored then', async () => {
    const cases: [unknown, string][] = [
      [{ neighbours: 0 }, 'settings.neighbours'],
      [{ interactionTypes: { purchase: -1 } }, 'settings.interactionTypes.purchase'],
      [{ interactionTypes: {} }, 'settings.interactionTypes'],
      [{ algorithm: 'MAGIC' }, 'settings.algorithm'],
      [{ halfLifeDays: 'soon' }, 'settings.halfLifeDays'],
      [{ productProperty: '' }, 'settings.productProperty'],
      [{ colour: 'blue' }, 'settings.colour'],
      [[1, 2], 'settings'],
    ];
    for (const [settings, field] of cases) {
      const res = await app.graphql(UpdateRecommendationModelDocument, { settings });
      expect({ settings, extensions: res.errors?.[0].extensions }).toMatchObject({ settings, extensions: { code: 'VALIDATION_FAILED', field } });
    }
    const { data } = await app.graphql(RecommendationModelDocument, {});
    expect(data!.recommendationModel.settings).toMatchObject({ neighbours: 50, algorithm: 'RP3BETA' });
  });

  test('a personal property is refused as the product property', async () => {
    const personal = await startTestApp({ workers: false, env: { RAPPORT_PERSONAL_PROPERTIES: 'email' } });
    try {
      const res = await personal.graphql(UpdateRecommendationModelDocument, { settings: { productProperty: 'contact.email' } });
      expect(res.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'settings.productProperty' });
    } finally {
      await personal.close();
    }
  });

  test('excludeOwned off keeps owned products in the list; a refit with each algorithm ranks the family first', async () => {
    const service = app.runtime.services.recommendations;
    try {
      for (const algorithm of ['COSINE', 'EASE', 'RP3BETA']) {
        await service.updateModel({ excludeOwned: false, algorithm }, { schedule: false });
        await service.recompute();
        // Ada has X1 and X2: each points to the other.
        const recs = await recommendations(app, 'ada');
        expect({ algorithm, products: recs.map((r) => r.product).sort() }).toEqual({ algorithm, products: ['X1', 'X2', 'X3'] });
      }
    } finally {
      await service.updateModel({ excludeOwned: null, algorithm: null }, { schedule: false });
      await service.recompute();
    }
    expect((await recommendations(app, 'ada')).map((r) => r.product)).toEqual(['X3']);
  });

  test('scores:read reads recommendations, scores:write changes and recomputes them', async () => {
    const customersOnly = await keyWith(app, ['customers:read']);
    const target = await customerGid(app, 'target');
    const noScores = await app.graphqlAs(customersOnly, CustomerRecommendationsDocument, { id: target });
    expect(noScores.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect(noScores.errors![0].message).toContain('Customer.recommendations requires the scope scores:read');
    const reader = await keyWith(app, ['customers:read', 'scores:read']);
    const read = await app.graphqlAs(reader, CustomerRecommendationsDocument, { id: target });
    expect(read.data!.customer!.recommendations.map((r) => r.product)).toEqual(['X2', 'X3']);
    const similar = await app.graphqlAs(customersOnly, SimilarProductsDocument, { product: 'X1' });
    expect(similar.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'scores:read' });
    const audience = await app.graphqlAs(customersOnly, ProductAudienceDocument, { product: 'X1' });
    expect(audience.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'scores:read' });
    expect((await app.graphqlAs(customersOnly, RecommendationModelDocument, {})).errors![0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    const update = await app.graphqlAs(reader, UpdateRecommendationModelDocument, { settings: { neighbours: 10 } });
    expect(update.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'scores:write' });
    const recomputeAsReader = await app.graphqlAs(reader, RecomputeRecommendationsDocument, {});
    expect(recomputeAsReader.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'scores:write' });
    const writer = await keyWith(app, ['scores:read', 'scores:write']);
    const updated = await app.graphqlAs(writer, UpdateRecommendationModelDocument, { settings: { neighbours: 10 } });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateRecommendationModel.settings).toMatchObject({ neighbours: 10 });
    await app.graphql(UpdateRecommendationModelDocument, { settings: { neighbours: null } });
  });

  test('a recommended rule is validated, and explained with the customer’s rank of the product', async () => {
    const bad = await app.graphql(CreateSegmentDocument, { input: { name: 'bad rank', rule: { recommended: { product: 'X3', rankAtMost: 0 } } } });
    expect(bad.errors![0].extensions!.code).toBe('SEGMENT_RULE_INVALID');
    expect(bad.errors![0].extensions!.field).toMatch(/recommended\.rankAtMost$/);
    const created = await app.graphql(CreateSegmentDocument, { input: { name: 'X3 in top 2', rule: { recommended: { product: 'X3', rankAtMost: 2 } } } });
    expect(created.errors).toBeUndefined();
    const explain = async (name: string) =>
      (await app.graphql(ExplainMembershipDocument, { segmentId: created.data!.createSegment.id, customerId: await customerGid(app, name) })).data!
        .explainMembership!;
    const target = await explain('target');
    expect(target.matchesRule).toBe(true);
    expect(target.conditions[0]).toMatchObject({ kind: 'RECOMMENDED', holds: true, figure: 2 });
    expect(target.conditions[0].description).toBe('rank of "X3" in the customer\'s recommendations: 2; wanted ≤ 2');
    const eve = await explain('eve');
    expect(eve.matchesRule).toBe(false);
    expect(eve.conditions[0].description).toBe('rank of "X3" in the customer\'s recommendations: not recommended; wanted ≤ 2');
  });

  test('productAudience returns customers whose names a key without pii:read sees masked', async () => {
    const narrow = await keyWith(app, ['customers:read', 'scores:read']);
    const res = await app.graphqlAs(narrow, ProductAudienceDocument, { product: 'X3' });
    expect(res.errors).toBeUndefined();
    const names = res.data!.productAudience.edges.map((e) => e.node.displayName);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^[A-Z]•••$/);
    const full = await app.graphqlAs(await keyWith(app, ['customers:read', 'scores:read', 'pii:read']), ProductAudienceDocument, { product: 'X3' });
    expect(full.data!.productAudience.edges.map((e) => e.node.displayName)).toContain('Target Example');
  });

  test('without history or organisation: popular in the smallest segment the caller may know of, named in the explanation', async () => {
    const refs = async (names: string[]) => Promise.all(names.map(async (name) => ({ id: await customerGid(app, name) })));
    // A segment over personal data (traits.ssn): the X buyers ada, bob and cy, and solo — 4 members.
    await app.sql(
      `UPDATE customers c SET traits = c.traits || '{"ssn": "000-00-0000"}'::jsonb
         FROM customer_identifiers i WHERE i.customer_id = c.id AND i.type = 'email' AND i.value = ANY($1)`,
      [['ada', 'bob', 'cy', 'solo'].map(email)],
    );
    const personal = await app.graphql(CreateSegmentDocument, {
      input: { name: 'has an ssn', rule: { attribute: { field: 'traits.ssn', op: 'EXISTS', value: true } } },
    });
    expect(personal.errors).toBeUndefined();
    await app.runtime.services.segments.memberships.refreshSegment(localId(personal.data!.createSegment.id, 'Segment', 'id'));
    // A larger STATIC segment: the Y buyers eve, fay, gus and hal, and solo — 5 members.
    const fans = await app.graphql(CreateSegmentDocument, { input: { name: 'Y fans', kind: 'STATIC' } });
    const fansId = fans.data!.createSegment.id;
    const added = await app.graphql(AddToSegmentDocument, { segmentId: fansId, customers: await refs(['eve', 'fay', 'gus', 'hal', 'solo']) });
    expect(added.data!.addToSegment.changed).toBe(5);
    // Popular lists per segment are fitted with the model.
    await app.runtime.services.recommendations.recompute();
    const solo = await customerGid(app, 'solo');

    // With pii:read: the smaller segment, over personal data. X2 is taken by 3 of its members, X1 and X3 by 2.
    const full = await keyWith(app, ['customers:read', 'scores:read', 'segments:read', 'pii:read']);
    const seen = (await app.graphqlAs(full, CustomerRecommendationsDocument, { id: solo })).data!.customer!.recommendations;
    expect(seen.map((r) => [r.product, r.basis])).toEqual([
      ['X2', 'SEGMENT'],
      ['X1', 'SEGMENT'],
      ['X3', 'SEGMENT'],
    ]);
    expect(seen[0].because).toEqual([
      expect.objectContaining({ kind: 'POPULAR_IN_SEGMENT', product: null, segmentId: personal.data!.createSegment.id, segmentName: 'has an ssn' }),
    ]);
    expect(seen[0].because[0].text).toBe(`no product history yet: popular in the customer's segment "has an ssn" (42.9% of its top products' weight)`);
    expect(seen[0].score).toBeCloseTo(3 / 7, 6);

    // Without pii:read the segment over personal data is neither used nor named: the next smallest one is.
    const narrow = await keyWith(app, ['customers:read', 'scores:read', 'segments:read']);
    const masked = await app.graphqlAs(narrow, CustomerRecommendationsDocument, { id: solo });
    expect(masked.errors).toBeUndefined();
    const recs = masked.data!.customer!.recommendations;
    expect(recs.map((r) => [r.product, r.basis])).toEqual([
      ['Y2', 'SEGMENT'],
      ['Y1', 'SEGMENT'],
    ]);
    expect(recs[0].because[0]).toMatchObject({ kind: 'POPULAR_IN_SEGMENT', segmentId: fansId, segmentName: 'Y fans' });
    expect(recs[0].because[0].text).toMatch(/^no product history yet: popular in the customer's segment "Y fans"/);
    expect(JSON.stringify(masked.data)).not.toMatch(/ssn|X1|X2|X3/);

    // Without segments:read no segment is used, since it would tell the customer's membership: overall popularity.
    const noSegments = await keyWith(app, ['customers:read', 'scores:read']);
    const overall = (await app.graphqlAs(noSegments, CustomerRecommendationsDocument, { id: solo })).data!.customer!.recommendations;
    expect(overall.length).toBeGreaterThan(0);
    expect(overall.every((r) => r.basis === 'POPULAR' && r.because[0].kind === 'POPULAR' && r.because[0].segmentName === null)).toBe(true);
    expect(JSON.stringify(overall)).not.toMatch(/Y fans|ssn/);

    // An organisation comes first for its members, and its name is masked as Customer.displayName is.
    await app.sql(
      `UPDATE customers SET display_name = 'Orbit Ltd' WHERE id = (SELECT customer_id FROM customer_identifiers WHERE type = 'crm' AND value = 'orbit')`,
    );
    const newbie = await customerGid(app, 'newbie');
    const named = (await app.graphqlAs(full, CustomerRecommendationsDocument, { id: newbie })).data!.customer!.recommendations;
    expect(named.map((r) => r.basis)).toEqual(['ORGANIZATION', 'ORGANIZATION']);
    expect(named[0].because[0]).toMatchObject({ kind: 'POPULAR_IN_ORGANIZATION', organization: { displayName: 'Orbit Ltd' }, segmentId: null });
    expect(named[0].because[0].text).toMatch(/^no product history yet: popular in the customer's organisation "Orbit Ltd" \(/);
    const hidden = await app.graphqlAs(narrow, CustomerRecommendationsDocument, { id: newbie });
    expect(hidden.errors).toBeUndefined();
    const reason = hidden.data!.customer!.recommendations[0].because[0];
    expect(reason).toMatchObject({ kind: 'POPULAR_IN_ORGANIZATION', organization: { displayName: 'O•••' } });
    expect(reason.text).toMatch(/^no product history yet: popular in the customer's organisation "O•••" \(/);
    expect(JSON.stringify(hidden.data)).not.toContain('Orbit');
  });

  test('a page of customers costs the same few statements for their recommendations, whatever its size', async () => {
    const [{ n }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM customers WHERE deleted_at IS NULL`);
    const page = async (first: number) => {
      app.resetStatements();
      const { data, errors } = await app.graphql(RecommendationsPageDocument, { first, recommendations: 3 });
      expect(errors).toBeUndefined();
      expect(data!.customers.edges).toHaveLength(first);
      return { statements: [...app.statements], edges: data!.customers.edges };
    };
    // The first two customers are ada (history) and bob (nothing new: a cold start), so both paths run in each page;
    // the whole page has every basis (solo is in the segments of the test before).
    const small = await page(2);
    const large = await page(n);
    expect(large.statements).toHaveLength(small.statements.length);
    expect(large.statements.filter((sql) => /FROM customer_recommendations/.test(sql))).toHaveLength(1);
    expect(new Set(large.edges.flatMap((e) => e.node.recommendations.map((r) => r.basis)))).toEqual(new Set(['HISTORY', 'ORGANIZATION', 'SEGMENT', 'POPULAR']));
    // Batched, each customer gets what they get asked alone.
    for (const edge of large.edges) {
      const alone = await app.graphql(CustomerRecommendationsDocument, { id: edge.node.id, first: 3 });
      expect({ id: edge.node.id, recs: edge.node.recommendations }).toEqual({
        id: edge.node.id,
        recs: alone.data!.customer!.recommendations.map((r) => ({
          product: r.product,
          rank: r.rank,
          basis: r.basis,
          because: r.because.map((b) => ({ kind: b.kind, product: b.product, weight: b.weight })),
        })),
      });
    }
  });
});

import {
  AddToSegmentDocument,
  CreateSegmentDocument,
  CreateSegmentFromTemplateDocument,
  CustomersWithSegmentsDocument,
  DeleteSegmentDocument,
  ExplainMembershipDocument,
  PreviewSegmentDocument,
  RemoveFromSegmentDocument,
  SegmentDetailDocument,
  SegmentMembersPageDocument,
  SegmentsPageDocument,
  SegmentTemplatesDocument,
  UpdateSegmentDocument,
  type SegmentRuleInput,
} from './generated/graphql';
import { startTestApp, type TestApp } from './helpers/app';
import { gid, seedCustomers } from './helpers/segment-data';
import { SegmentService } from '../src/modules/segments/segment.service';

const purchases = (n: number, daysAgo: number, value = 10) =>
  Array.from({ length: n }, (_, i) => ({ channel: 'payment', type: 'purchase', daysAgo: daysAgo + i, value }));

const FINANCE_BUYERS: SegmentRuleInput = {
  and: [{ attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } }, { behavior: { type: 'purchase', lastDays: 90, op: 'GTE', value: 3 } }],
};

describe('segments API', () => {
  let app: TestApp;
  let ids: Map<string, string>;
  const cid = (name: string) => gid('Customer', ids.get(name)!);

  beforeAll(async () => {
    app = await startTestApp();
    ids = await seedCustomers(app, [
      {
        name: 'ada',
        email: 'ada@example.com',
        lifecycleStage: 'customer',
        owner: 'olga',
        traits: { industry: 'finance', employees: 120, tags: ['vip', 'beta'] },
        interactions: [...purchases(4, 5.5), { channel: 'email', type: 'open', daysAgo: 1.5, properties: { campaign: 'spring' } }],
        scores: [{ kind: 'CHURN_RISK', value: 0.2, label: 'LOW' }],
      },
      { name: 'bob', email: 'bob@example.com', lifecycleStage: 'lead', traits: { industry: 'retail', employees: 8 }, interactions: purchases(1, 10.5) },
      {
        name: 'cyd',
        email: 'cyd@example.com',
        lifecycleStage: 'customer',
        traits: { industry: 'finance', employees: 'many' },
        interactions: purchases(3, 200.5, 50),
        scores: [{ kind: 'CHURN_RISK', value: 0.85, label: 'HIGH' }],
      },
      { name: 'dee', lifecycleStage: `'; DROP TABLE customers; --`, traits: {} },
    ]);
  });
  afterAll(() => app.close());

  async function createDynamic(name: string, rule: SegmentRuleInput) {
    const { data, errors } = await app.graphql(CreateSegmentDocument, { input: { name, rule } });
    expect(errors).toBeUndefined();
    return data!.createSegment;
  }
  const refresh = (globalSegmentId: string) =>
    app.runtime.services.segments.memberships.refreshSegment(Buffer.from(globalSegmentId, 'base64').toString().split(':')[1]);

  describe('validation names the path of the problem', () => {
    const cases: [string, SegmentRuleInput, string, string?][] = [
      [
        'a window of 0 days',
        { and: [FINANCE_BUYERS.and![0], { behavior: { type: 'purchase', lastDays: 0, op: 'GTE', value: 3 } }] },
        'rule.and[1].behavior.lastDays',
      ],
      ['a negative window', { or: [{ behavior: { lastDays: -3, op: 'GT', value: 0 } }] }, 'rule.or[0].behavior.lastDays'],
      ['an empty from/to window', { behavior: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z', op: 'GT', value: 0 } }, 'rule.behavior.to'],
      ['an unknown field', { not: { attribute: { field: 'shoeSize', op: 'EQ', value: 42 } } }, 'rule.not.attribute.field'],
      ['an operator that does not fit the field', { attribute: { field: 'lifecycleStage', op: 'GT', value: 3 } }, 'rule.attribute.op'],
      ['a value of the wrong type', { attribute: { field: 'interactionCount', op: 'EQ', value: 'many' } }, 'rule.attribute.value'],
      ['a text value for an ordered trait comparison', { attribute: { field: 'traits.employees', op: 'GT', value: 'ten' } }, 'rule.attribute.value'],
      ['an empty IN list', { attribute: { field: 'traits.industry', op: 'IN', value: [] } }, 'rule.attribute.value'],
      ['BETWEEN with one bound', { attribute: { field: 'transactionValue', op: 'BETWEEN', value: [1] } }, 'rule.attribute.value'],
      ['a bad trait path', { attribute: { field: 'traits.a b', op: 'EXISTS' } }, 'rule.attribute.field'],
      ['a set operator on a behaviour', { behavior: { type: 'purchase', op: 'IN', value: 1 } }, 'rule.behavior.op'],
      ['a score condition with neither value nor label', { score: { kind: 'RFM' } }, 'rule.score'],
      ['a missing segment', { and: [FINANCE_BUYERS.and![0], { inSegment: gid('Segment', '987654') }] }, 'rule.and[1].inSegment'],
      ['an id that is not a segment', { inSegment: gid('Customer', '1') }, 'rule.inSegment'],
      ['an empty and', { and: [] }, 'rule.and'],
    ];
    test.each(cases)('rejects %s', async (_what, rule, field) => {
      const { data, errors } = await app.graphql(PreviewSegmentDocument, { rule });
      expect(data).toBeNull();
      expect(errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_INVALID', field });
      expect(errors?.[0].message).toContain(`invalid rule at ${field}: `);
    });

    test('lists every problem of a rule in details.problems, the first one in the message', async () => {
      const rule: SegmentRuleInput = {
        and: [{ attribute: { field: 'shoeSize', op: 'EQ', value: 42 } }, { behavior: { type: 'purchase', op: 'IN', value: 1 } }],
      } as SegmentRuleInput;
      const { errors } = await app.graphql(PreviewSegmentDocument, { rule });
      expect(errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_INVALID', field: 'rule.and[0].attribute.field' });
      const problems = (errors?.[0].extensions?.details as { problems: { field: string }[] }).problems;
      expect(problems.map((p) => p.field)).toEqual(['rule.and[0].attribute.field', 'rule.and[1].behavior.op']);
    });

    test('rejects more than 10 levels, and accepts 10', async () => {
      const nest = (levels: number): SegmentRuleInput =>
        levels === 1 ? { attribute: { field: 'kind', op: 'EQ', value: 'PERSON' } } : { not: nest(levels - 1) };
      const tooDeep = await app.graphql(PreviewSegmentDocument, { rule: nest(11) });
      expect(tooDeep.errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_INVALID', field: 'rule' + '.not'.repeat(10) });
      const ok = await app.graphql(PreviewSegmentDocument, { rule: nest(10) });
      expect(ok.errors).toBeUndefined();
    });

    test('rejects more than 100 conditions, and accepts 100', async () => {
      const leaves = (n: number): SegmentRuleInput => ({
        or: Array.from({ length: n }, (_, i) => ({ attribute: { field: 'owner', op: 'EQ', value: `o${i}` } })),
      });
      const tooMany = await app.graphql(PreviewSegmentDocument, { rule: leaves(101) });
      expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_INVALID', field: 'rule' });
      expect(tooMany.errors?.[0].message).toMatch(/101 conditions; the limit is 100/);
      expect((await app.graphql(PreviewSegmentDocument, { rule: leaves(100) })).errors).toBeUndefined();
    });

    test('rejects a reference that makes a cycle', async () => {
      const a = await createDynamic('cycle A', { attribute: { field: 'kind', op: 'EQ', value: 'PERSON' } });
      const b = await createDynamic('cycle B', { inSegment: a.id });
      const c = await createDynamic('cycle C', { and: [{ inSegment: b.id }, { attribute: { field: 'owner', op: 'EXISTS' } }] });
      const { errors } = await app.graphql(UpdateSegmentDocument, { id: a.id, input: { name: 'cycle A', rule: { or: [{ inSegment: c.id }] } } });
      expect(errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_CYCLE', field: 'input.rule.or[0].inSegment' });
      expect(errors?.[0].message).toContain('"cycle A" → "cycle C" → "cycle B" → "cycle A"');
      const self = await app.graphql(UpdateSegmentDocument, { id: a.id, input: { name: 'cycle A', rule: { inSegment: a.id } } });
      expect(self.errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_CYCLE' });
      // Deleting a segment others use is refused; bottom-up works.
      expect((await app.graphql(DeleteSegmentDocument, { id: a.id })).errors?.[0].extensions?.code).toBe('SEGMENT_IN_USE');
      for (const s of [c, b, a]) expect((await app.graphql(DeleteSegmentDocument, { id: s.id })).data?.deleteSegment.deletedId).toBe(s.id);
    });
  });

  test('hostile strings in every value position are data, never SQL', async () => {
    const hostile = [`'; DROP TABLE customers; --`, `' OR '1'='1`, `$1`, `\\`, `%_%`, `") OR TRUE --`, `{}`, `'::jsonb`, `ß😀`, `/* */`, `$$ SELECT 1 $$`];
    for (const s of hostile) {
      const rule: SegmentRuleInput = {
        or: [
          { attribute: { field: 'lifecycleStage', op: 'EQ', value: s } },
          { attribute: { field: 'owner', op: 'IN', value: [s, 'x'] } },
          { attribute: { field: 'displayName', op: 'CONTAINS', value: s } },
          { attribute: { field: 'displayName', op: 'STARTS_WITH', value: s } },
          { attribute: { field: 'traits.industry', op: 'NOT_IN', value: [s] } },
          { attribute: { field: 'traits.tags', op: 'CONTAINS', value: s } },
          { behavior: { channel: s, type: s, where: [{ path: 'campaign', op: 'EQ', value: s }], lastDays: 30, op: 'GTE', value: 1 } },
          { score: { kind: 'CHURN_RISK', labelIn: [s] } },
        ],
      };
      const { data, errors } = await app.graphql(PreviewSegmentDocument, { rule });
      expect(errors).toBeUndefined();
      // NOT_IN [s] matches every customer whose industry is not s: all four (dee has none).
      expect(data!.previewSegment.count).toBe(4);
      const exact = await app.graphql(PreviewSegmentDocument, { rule: { attribute: { field: 'lifecycleStage', op: 'EQ', value: s } } });
      expect(exact.data!.previewSegment.count).toBe(s === `'; DROP TABLE customers; --` ? 1 : 0);
      const named = await app.graphql(CreateSegmentDocument, {
        input: { name: `hostile ${s}`, description: s, rule: { attribute: { field: 'owner', op: 'EQ', value: s } } },
      });
      expect(named.data!.createSegment.name).toBe(`hostile ${s}`);
      await app.graphql(DeleteSegmentDocument, { id: named.data!.createSegment.id });
    }
    const pathAttack = await app.graphql(PreviewSegmentDocument, { rule: { attribute: { field: `traits.x'); DROP TABLE customers; --`, op: 'EXISTS' } } });
    expect(pathAttack.errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_RULE_INVALID', field: 'rule.attribute.field' });
    const [{ n }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM customers`);
    expect(n).toBe(4);
  });

  test('previewSegment counts the matches and samples them', async () => {
    const { data } = await app.graphql(PreviewSegmentDocument, { rule: FINANCE_BUYERS });
    expect(data!.previewSegment).toEqual({ count: 1, sample: [{ id: cid('ada'), displayName: 'ada' }] });
    const churned = await app.graphql(PreviewSegmentDocument, {
      rule: {
        and: [
          { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } },
          { not: { behavior: { type: 'purchase', lastDays: 90, op: 'GTE', value: 1 } } },
        ],
      },
    });
    expect(churned.data!.previewSegment.sample.map((c) => c.displayName)).toEqual(['cyd']);
    const bigSpenders = await app.graphql(PreviewSegmentDocument, { rule: { behavior: { type: 'purchase', aggregate: 'SUM', op: 'GTE', value: 40 } } });
    expect(bigSpenders.data!.previewSegment.sample.map((c) => c.displayName)).toEqual(['ada', 'cyd']);
    const days = await app.graphql(PreviewSegmentDocument, {
      rule: { behavior: { channel: 'payment', aggregate: 'DISTINCT_DAYS', lastDays: 30, op: 'EQ', value: 4 } },
    });
    expect(days.data!.previewSegment.count).toBe(1);
    const numericTrait = await app.graphql(PreviewSegmentDocument, { rule: { attribute: { field: 'traits.employees', op: 'BETWEEN', value: [10, 500] } } });
    expect(numericTrait.data!.previewSegment.sample.map((c) => c.displayName)).toEqual(['ada']);
    const tag = await app.graphql(PreviewSegmentDocument, { rule: { attribute: { field: 'traits.tags', op: 'CONTAINS', value: 'vip' } } });
    expect(tag.data!.previewSegment.count).toBe(1);
    const property = await app.graphql(PreviewSegmentDocument, {
      rule: { behavior: { channel: 'email', where: [{ path: 'campaign', op: 'STARTS_WITH', value: 'spr' }], op: 'GTE', value: 1 } },
    });
    expect(property.data!.previewSegment.count).toBe(1);
    const score = await app.graphql(PreviewSegmentDocument, { rule: { score: { kind: 'CHURN_RISK', op: 'GT', value: 0.5 } } });
    expect(score.data!.previewSegment.sample.map((c) => c.displayName)).toEqual(['cyd']);
    const stats = await app.graphql(PreviewSegmentDocument, { rule: { attribute: { field: 'transactionCount', op: 'GTE', value: 3 } } });
    expect(stats.data!.previewSegment.count).toBe(2);
  });

  test('the sample holds at most 20 customers', async () => {
    const many = await seedCustomers(
      app,
      Array.from({ length: 25 }, (_, i) => ({ name: `sample-${i}`, owner: 'sampler' })),
      { refresh: false },
    );
    const { data } = await app.graphql(PreviewSegmentDocument, { rule: { attribute: { field: 'owner', op: 'EQ', value: 'sampler' } } });
    expect(data!.previewSegment.count).toBe(25);
    expect(data!.previewSegment.sample).toHaveLength(20);
    await app.sql(`DELETE FROM customers WHERE id = ANY($1::bigint[])`, [[...many.values()]]);
  });

  test('create, refresh, then members, size, status, history and size history', async () => {
    const created = await createDynamic('finance buyers', FINANCE_BUYERS);
    expect(created).toMatchObject({ kind: 'DYNAMIC', status: 'STALE', size: 0, rule: FINANCE_BUYERS });
    const change = await refresh(created.id);
    expect(change).toMatchObject({ entered: 1, exited: 0, size: 1 });
    const { data } = await app.graphql(SegmentDetailDocument, { id: created.id, first: 10 });
    const segment = data!.segment!;
    expect(segment).toMatchObject({ status: 'FRESH', size: 1, members: { totalCount: 1, edges: [{ node: { id: cid('ada') } }] } });
    expect(segment.refreshedAt).not.toBeNull();
    expect(segment.history).toEqual([{ kind: 'ENTERED', occurredAt: expect.any(String), customer: { id: cid('ada') } }]);
    expect(segment.sizeHistory.map((p) => p.size)).toEqual([1]);

    // A wider rule: bob and cyd enter, nobody leaves; then a narrower one: ada and cyd leave.
    await app.graphql(UpdateSegmentDocument, {
      id: created.id,
      input: { name: 'finance buyers', rule: { behavior: { type: 'purchase', op: 'GTE', value: 1 } } },
    });
    expect(await refresh(created.id)).toMatchObject({ entered: 2, exited: 0, size: 3 });
    await app.graphql(UpdateSegmentDocument, {
      id: created.id,
      input: { name: 'recent single buyers', rule: { behavior: { type: 'purchase', lastDays: 30, op: 'EQ', value: 1 } } },
    });
    expect(await refresh(created.id)).toMatchObject({ entered: 0, exited: 2, size: 1 });
    const after = (await app.graphql(SegmentDetailDocument, { id: created.id, first: 10 })).data!.segment!;
    expect(after).toMatchObject({ name: 'recent single buyers', size: 1, members: { edges: [{ node: { id: cid('bob') } }] } });
    expect(
      after.history
        .filter((e) => e.kind === 'EXITED')
        .map((e) => e.customer!.id)
        .sort(),
    ).toEqual([cid('ada'), cid('cyd')].sort());
    expect(after.sizeHistory[after.sizeHistory.length - 1].size).toBe(1);
    // Refreshing again changes nothing and writes no events.
    expect(await refresh(created.id)).toMatchObject({ entered: 0, exited: 0, size: 1 });
    // A size that drifted (memberships removed behind the segment's back, as an erasure's cascade does) is repaired by the next refresh.
    await app.sql(`UPDATE segments SET size = 7 WHERE id = $1`, [Buffer.from(created.id, 'base64').toString().split(':')[1]]);
    expect(await refresh(created.id)).toMatchObject({ entered: 0, exited: 0, size: 1 });
    expect((await app.graphql(SegmentDetailDocument, { id: created.id })).data!.segment!.history).toHaveLength(after.history.length);
    await app.graphql(DeleteSegmentDocument, { id: created.id });
  });

  test('segments list pages forwards; members page by cursor', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createDynamic(`paged ${i}`, { attribute: { field: 'kind', op: 'EQ', value: 'PERSON' } }));
    const first = await app.graphql(SegmentsPageDocument, { first: 2 });
    expect(first.data!.segments.totalCount).toBeGreaterThanOrEqual(3);
    expect(first.data!.segments.pageInfo.hasNextPage).toBe(true);
    const next = await app.graphql(SegmentsPageDocument, { first: 2, after: first.data!.segments.pageInfo.endCursor });
    expect(next.data!.segments.edges[0].node.id).not.toBe(first.data!.segments.edges[1].node.id);
    await refresh(made[0].id);
    const page1 = await app.graphql(SegmentMembersPageDocument, { id: made[0].id, first: 3 });
    const page2 = await app.graphql(SegmentMembersPageDocument, { id: made[0].id, first: 3, after: page1.data!.segment!.members.pageInfo.endCursor });
    const seen = [...page1.data!.segment!.members.edges, ...page2.data!.segment!.members.edges].map((e) => e.node.id);
    expect(new Set(seen).size).toBe(4);
    for (const s of made) await app.graphql(DeleteSegmentDocument, { id: s.id });
  });

  test('STATIC segments take members by id or identifiers, with one result per row', async () => {
    const { data } = await app.graphql(CreateSegmentDocument, { input: { name: 'vip list', kind: 'STATIC' } });
    const id = data!.createSegment.id;
    expect(data!.createSegment).toMatchObject({ kind: 'STATIC', status: 'FRESH', rule: null });
    const added = await app.graphql(AddToSegmentDocument, {
      segmentId: id,
      customers: [
        { id: cid('ada') },
        { identifiers: [{ type: 'email', value: ' BOB@example.com ' }] },
        { identifiers: [{ type: 'email', value: 'nobody@example.com' }] },
        { id: cid('ada') },
        { id: 'nonsense' },
      ],
    });
    expect(added.data!.addToSegment).toMatchObject({ changed: 2, rejected: 2, segment: { size: 2 } });
    expect(added.data!.addToSegment.results.map((r) => [r.status, r.error?.code ?? null, r.error?.field ?? null])).toEqual([
      ['ADDED', null, null],
      ['ADDED', null, null],
      ['REJECTED', 'CUSTOMER_NOT_FOUND', 'customers[2].identifiers'],
      ['UNCHANGED', null, null],
      ['REJECTED', 'CUSTOMER_NOT_FOUND', 'customers[4].id'],
    ]);
    const removed = await app.graphql(RemoveFromSegmentDocument, { segmentId: id, customers: [{ id: cid('ada') }, { id: cid('cyd') }] });
    expect(removed.data!.removeFromSegment).toMatchObject({ changed: 1, segment: { size: 1 } });
    expect(removed.data!.removeFromSegment.results.map((r) => r.status)).toEqual(['REMOVED', 'UNCHANGED']);
    const detail = (await app.graphql(SegmentDetailDocument, { id })).data!.segment!;
    expect(detail.members.edges.map((e) => e.node.id)).toEqual([cid('bob')]);
    expect(detail.history.map((e) => e.kind).sort()).toEqual(['ENTERED', 'ENTERED', 'EXITED']);

    const dynamic = await createDynamic('not static', { attribute: { field: 'kind', op: 'EQ', value: 'PERSON' } });
    const refused = await app.graphql(AddToSegmentDocument, { segmentId: dynamic.id, customers: [{ id: cid('ada') }] });
    expect(refused.errors?.[0].extensions?.code).toBe('SEGMENT_KIND_MISMATCH');
    const withRule = await app.graphql(CreateSegmentDocument, { input: { name: 'static with rule', kind: 'STATIC', rule: FINANCE_BUYERS } });
    expect(withRule.errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_KIND_MISMATCH', field: 'input.rule' });
    const taken = await app.graphql(CreateSegmentDocument, { input: { name: 'vip list', kind: 'STATIC' } });
    expect(taken.errors?.[0].extensions).toMatchObject({ code: 'SEGMENT_NAME_TAKEN', field: 'input.name' });

    // A dynamic segment can build on a static one.
    const vipFinance = await createDynamic('vip in finance', {
      and: [{ inSegment: id }, { attribute: { field: 'traits.industry', op: 'EQ', value: 'retail' } }],
    });
    await refresh(vipFinance.id);
    expect((await app.graphql(SegmentDetailDocument, { id: vipFinance.id })).data!.segment!).toMatchObject({
      status: 'FRESH',
      members: { edges: [{ node: { id: cid('bob') } }] },
    });
    // Changing the static list marks the segments that use it for a refresh.
    await app.graphql(RemoveFromSegmentDocument, { segmentId: id, customers: [{ id: cid('bob') }] });
    expect((await app.graphql(SegmentDetailDocument, { id: vipFinance.id })).data!.segment!.status).toBe('STALE');
    await refresh(vipFinance.id);
    expect((await app.graphql(SegmentDetailDocument, { id: vipFinance.id })).data!.segment!).toMatchObject({ status: 'FRESH', size: 0 });
    await app.graphql(DeleteSegmentDocument, { id: vipFinance.id });
    await app.graphql(DeleteSegmentDocument, { id: dynamic.id });
    await app.graphql(DeleteSegmentDocument, { id });
  });

  test('explainMembership gives each condition, whether it holds, and the figure behind it', async () => {
    const segment = await createDynamic('explained', {
      and: [
        { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } },
        { behavior: { type: 'purchase', lastDays: 90, op: 'GTE', value: 3 } },
        {
          or: [
            { score: { kind: 'CHURN_RISK', labelIn: ['LOW', 'MEDIUM'] } },
            { not: { attribute: { field: 'lifecycleStage', op: 'IN', value: ['customer'] } } },
          ],
        },
      ],
    });
    await refresh(segment.id);
    const ada = (await app.graphql(ExplainMembershipDocument, { segmentId: segment.id, customerId: cid('ada') })).data!.explainMembership!;
    expect(ada).toMatchObject({ isMember: true, matchesRule: true });
    expect(ada.conditions.map((c) => [c.path, c.kind, c.holds, c.description])).toEqual([
      ['rule', 'AND', true, 'all of 3 conditions: 3 hold'],
      ['rule.and[0].attribute', 'ATTRIBUTE', true, 'traits.industry: "finance" = "finance"'],
      ['rule.and[1].behavior', 'BEHAVIOR', true, 'purchase interactions in last 90 days: 4 ≥ 3'],
      ['rule.and[2]', 'OR', true, 'any of 2 conditions: 1 hold'],
      ['rule.and[2].or[0].score', 'SCORE', true, 'CHURN_RISK score: 0.2 (LOW); wanted label in "LOW", "MEDIUM"'],
      ['rule.and[2].or[1]', 'NOT', false, 'not: the inner condition holds'],
      ['rule.and[2].or[1].not.attribute', 'ATTRIBUTE', true, 'lifecycleStage: "customer" in ["customer"]'],
    ]);
    expect(ada.conditions[2].figure).toBe(4);
    const cyd = (await app.graphql(ExplainMembershipDocument, { segmentId: segment.id, customerId: cid('cyd') })).data!.explainMembership!;
    expect(cyd).toMatchObject({ isMember: false, matchesRule: false, memberSince: null });
    expect(cyd.conditions[2]).toMatchObject({ holds: false, figure: 0, description: 'purchase interactions in last 90 days: 0 ≥ 3' });
    const bob = (await app.graphql(ExplainMembershipDocument, { segmentId: segment.id, customerId: cid('bob') })).data!.explainMembership!;
    expect(bob.conditions[4]).toMatchObject({ holds: false, figure: null, description: 'CHURN_RISK score: none computed; wanted label in "LOW", "MEDIUM"' });
    await app.graphql(DeleteSegmentDocument, { id: segment.id });
  });

  test('templates list the RFM groups and churn-risk bands and create segments in one call', async () => {
    const { data } = await app.graphql(SegmentTemplatesDocument, {});
    const keys = data!.segmentTemplates.map((t) => t.key);
    expect(keys).toHaveLength(14);
    expect(keys).toEqual(expect.arrayContaining(['rfm-champions', 'rfm-cannot-lose-them', 'rfm-lost', 'churn-risk-high', 'churn-risk-low']));
    expect(data!.segmentTemplates.find((t) => t.key === 'rfm-champions')!.rule).toEqual({ score: { kind: 'RFM', labelIn: ['Champions'] } });
    const created = await app.graphql(CreateSegmentFromTemplateDocument, { key: 'churn-risk-high' });
    expect(created.data!.createSegmentFromTemplate).toMatchObject({
      name: 'Churn risk: high',
      kind: 'DYNAMIC',
      rule: { score: { kind: 'CHURN_RISK', labelIn: ['HIGH'] } },
    });
    await refresh(created.data!.createSegmentFromTemplate.id);
    const detail = (await app.graphql(SegmentDetailDocument, { id: created.data!.createSegmentFromTemplate.id })).data!.segment!;
    expect(detail.members.edges.map((e) => e.node.id)).toEqual([cid('cyd')]);
    const renamed = await app.graphql(CreateSegmentFromTemplateDocument, { key: 'rfm-champions', name: 'Our champions' });
    expect(renamed.data!.createSegmentFromTemplate.name).toBe('Our champions');
    expect((await app.graphql(CreateSegmentFromTemplateDocument, { key: 'rfm-nope' })).errors?.[0].extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'key',
    });
    await app.graphql(DeleteSegmentDocument, { id: created.data!.createSegmentFromTemplate.id });
    await app.graphql(DeleteSegmentDocument, { id: renamed.data!.createSegmentFromTemplate.id });
  });

  test('Customer.segments and Customer.segmentHistory are batched: one statement each for a page', async () => {
    const a = await createDynamic('batched a', { attribute: { field: 'lifecycleStage', op: 'EQ', value: 'customer' } });
    const b = await createDynamic('batched b', { attribute: { field: 'traits.industry', op: 'EXISTS' } });
    await refresh(a.id);
    await refresh(b.id);
    app.resetStatements();
    const { data } = await app.graphql(CustomersWithSegmentsDocument, { first: 10 });
    const byId = new Map(data!.customers.edges.map((e) => [e.node.id, e.node]));
    expect(byId.get(cid('ada'))!.segments.map((s) => s.name)).toEqual(['batched a', 'batched b']);
    expect(byId.get(cid('bob'))!.segments.map((s) => s.name)).toEqual(['batched b']);
    expect(byId.get(cid('dee'))!.segments).toEqual([]);
    expect(byId.get(cid('ada'))!.segmentHistory.map((e) => e.kind)).toContain('ENTERED');
    expect(app.statements.filter((s) => /FROM segment_memberships m JOIN segments/.test(s))).toHaveLength(1);
    expect(app.statements.filter((s) => /FROM segment_membership_events x/.test(s))).toHaveLength(1);
    await app.graphql(DeleteSegmentDocument, { id: a.id });
    await app.graphql(DeleteSegmentDocument, { id: b.id });
  });
  test('the sweep picks stale segments, moving windows, and segments whose scores were recomputed', async () => {
    const localOf = (globalSegmentId: string) => Buffer.from(globalSegmentId, 'base64').toString().split(':')[1];
    const scored = await createDynamic('sweep score', { score: { kind: 'CHURN_RISK', labelIn: ['HIGH'] } });
    const windowed = await createDynamic('sweep window', { behavior: { type: 'purchase', lastDays: 30, op: 'GTE', value: 1 } });
    const plain = await createDynamic('sweep plain', { attribute: { field: 'owner', op: 'EQ', value: 'olga' } });
    const segments = app.runtime.services.segments;
    expect(await segments.sweepCandidates()).toEqual([scored, windowed, plain].map((s) => localOf(s.id)));
    for (const s of [scored, windowed, plain]) await refresh(s.id);
    expect(await segments.sweepCandidates()).toEqual([localOf(windowed.id)]);
    // A recompute rewrites scores: the score segment is due again, and its refresh picks up the change.
    await app.sql(`UPDATE scores SET value = 0.9, label = 'HIGH', computed_at = now() WHERE customer_id = $1 AND kind = 'CHURN_RISK'`, [ids.get('ada')]);
    expect(await segments.sweepCandidates()).toEqual([localOf(scored.id), localOf(windowed.id)]);
    await refresh(scored.id);
    expect((await app.graphql(SegmentDetailDocument, { id: scored.id })).data!.segment!.members.edges.map((e) => e.node.id)).toEqual([cid('ada'), cid('cyd')]);
    // The hook a finished scores recompute calls: the segments using those kinds go STALE and get refreshed.
    expect(await segments.refreshSegmentsUsingScores(['CHURN_RISK'])).toEqual([localOf(scored.id)]);
    expect((await app.graphql(SegmentDetailDocument, { id: scored.id })).data!.segment!.status).toBe('STALE');
    await app.sql(`UPDATE scores SET value = 0.2, label = 'LOW' WHERE customer_id = $1 AND kind = 'CHURN_RISK'`, [ids.get('ada')]);
    for (const s of [scored, windowed, plain]) await app.graphql(DeleteSegmentDocument, { id: s.id });
  });
});

describe('previewSegment under a statement timeout', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    await app.sql(`INSERT INTO customers (display_name) SELECT 'c' || g FROM generate_series(1, 2000) g`);
    await app.sql(
      `INSERT INTO interactions (customer_id, channel, type, occurred_at, value, source, external_id)
       SELECT c.id, 'web', 'page_view', now() - (g || ' hours')::interval, g, 'timeout-test', c.id || '-' || g
         FROM customers c CROSS JOIN generate_series(1, 40) g`,
    );
  });
  afterAll(() => app.close());

  test('a rule too slow for the limit answers SEGMENT_PREVIEW_TIMEOUT', async () => {
    const services = app.runtime.services;
    const impatient = new SegmentService(app.dataSource, services.segments.memberships, { previewTimeoutMs: 1 });
    const rule = {
      and: [
        { behavior: { type: 'page_view', aggregate: 'DISTINCT_DAYS', lastDays: 30, op: 'GTE', value: 1 } },
        { behavior: { channel: 'web', aggregate: 'SUM', op: 'GT', value: 10 } },
        { not: { behavior: { type: 'page_view', lastDays: 1, op: 'GT', value: 1000 } } },
      ],
    };
    await expect(impatient.preview(rule)).rejects.toMatchObject({ code: 'SEGMENT_PREVIEW_TIMEOUT', field: 'rule' });
    // The same rule under the default limit answers.
    const { data } = await app.graphql(PreviewSegmentDocument, { rule: rule as SegmentRuleInput });
    expect(data!.previewSegment.count).toBe(2000);
  });
});

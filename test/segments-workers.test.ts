import {
  AddToSegmentDocument,
  CreateSegmentDocument,
  RecomputeScoresDocument,
  RecordInteractionsDocument,
  RefreshSegmentDocument,
  RemoveFromSegmentDocument,
  SegmentDetailDocument,
  UpdateSegmentDocument,
  type InteractionInput,
  type SegmentRuleInput,
} from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';
import { QUEUES } from '../src/infra/queue';

const DAY = 86_400_000;
let counter = 0;
const event = (email: string, type: string, channel = 'payment', daysAgo = 1): InteractionInput => ({
  customer: { identifiers: [{ type: 'email', value: email }] },
  channel,
  type,
  occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
  value: type === 'purchase' ? 20 : undefined,
  source: 'segments-workers-test',
  externalId: `e-${++counter}`,
});

const ACTIVE_BUYERS: SegmentRuleInput = {
  and: [
    { behavior: { type: 'purchase', lastDays: 30, op: 'GTE', value: 2 } },
    { not: { behavior: { channel: 'support', type: 'ticket_opened', lastDays: 30, op: 'GTE', value: 1 } } },
  ],
};

describe.each(['postgres', 'redis'] as const)('segment membership with workers on the %s queue backend', (backend) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ queue: backend, workers: true });
  });
  afterAll(() => app.close());

  const detail = async (id: string) => (await app.graphql(SegmentDetailDocument, { id, first: 50 })).data!.segment!;
  const memberIds = async (id: string) => (await detail(id)).members.edges.map((e) => e.node.id);
  const customerId = async (email: string) => {
    const [row] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE type = 'email' AND value = $1`, [email]);
    return Buffer.from(`Customer:${row.id}`).toString('base64');
  };

  test('ingest moves a customer into and out of a dynamic segment and its dependents, with events', async () => {
    await app.graphql(RecordInteractionsDocument, { input: [event('early@example.com', 'purchase'), event('early@example.com', 'purchase', 'payment', 3)] });
    const created = (await app.graphql(CreateSegmentDocument, { input: { name: 'active buyers', rule: ACTIVE_BUYERS } })).data!.createSegment;
    const dependent = (
      await app.graphql(CreateSegmentDocument, {
        input: { name: 'active buyers, people', rule: { and: [{ inSegment: created.id }, { attribute: { field: 'kind', op: 'EQ', value: 'PERSON' } }] } },
      })
    ).data!.createSegment;
    const early = await customerId('early@example.com');
    await eventually(async () => {
      const s = await detail(created.id);
      return s.status === 'FRESH' && s.size === 1 ? s : undefined;
    });
    await eventually(async () => ((await memberIds(dependent.id)).includes(early) ? true : undefined));

    // One purchase: not yet in. A second: in, within the refresh debounce.
    await app.graphql(RecordInteractionsDocument, { input: [event('ivy@example.com', 'purchase')] });
    const ivy = await eventually(async () => {
      const [row] = await app.sql<{ dirty: boolean }>(
        `SELECT c.dirty_since IS NOT NULL AS dirty FROM customer_identifiers i JOIN customers c ON c.id = i.customer_id WHERE i.value = 'ivy@example.com'`,
      );
      return row && !row.dirty ? customerId('ivy@example.com') : undefined;
    });
    expect(await memberIds(created.id)).not.toContain(ivy);
    await app.graphql(RecordInteractionsDocument, { input: [event('ivy@example.com', 'purchase', 'payment', 2)] });
    await eventually(async () => ((await memberIds(created.id)).includes(ivy) ? true : undefined));
    await eventually(async () => ((await memberIds(dependent.id)).includes(ivy) ? true : undefined));
    expect((await detail(created.id)).size).toBe(2);

    // A support ticket takes her out again, of both.
    await app.graphql(RecordInteractionsDocument, { input: [event('ivy@example.com', 'ticket_opened', 'support')] });
    await eventually(async () => (!(await memberIds(created.id)).includes(ivy) ? true : undefined));
    await eventually(async () => (!(await memberIds(dependent.id)).includes(ivy) ? true : undefined));

    const s = await detail(created.id);
    expect(s.size).toBe(1);
    const ivyEvents = s.history.filter((e) => e.customer?.id === ivy).map((e) => e.kind);
    expect(ivyEvents).toEqual(['EXITED', 'ENTERED']);
    expect(s.sizeHistory.length).toBeGreaterThanOrEqual(1);
    expect(s.sizeHistory[s.sizeHistory.length - 1].size).toBe(1);
    const [{ n }] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM segment_memberships WHERE segment_id = (SELECT id FROM segments WHERE name = 'active buyers')`,
    );
    expect(n).toBe(s.size);
  });

  test('a hand-made change to a STATIC segment refreshes the dynamic segments that use it (memberships.changed)', async () => {
    const vip = (await app.graphql(CreateSegmentDocument, { input: { name: 'vip by hand', kind: 'STATIC' } })).data!.createSegment;
    const dependent = (await app.graphql(CreateSegmentDocument, { input: { name: 'vip, dynamic', rule: { inSegment: vip.id } } })).data!.createSegment;
    await eventually(async () => ((await detail(dependent.id)).status === 'FRESH' ? true : undefined));
    const early = await customerId('early@example.com');
    const ref = [{ identifiers: [{ type: 'email', value: 'early@example.com' }] }];
    expect((await app.graphql(AddToSegmentDocument, { segmentId: vip.id, customers: ref })).data!.addToSegment.changed).toBe(1);
    await eventually(async () => ((await memberIds(dependent.id)).includes(early) ? true : undefined));
    expect((await app.graphql(RemoveFromSegmentDocument, { segmentId: vip.id, customers: ref })).data!.removeFromSegment.changed).toBe(1);
    await eventually(async () => ((await memberIds(dependent.id)).length === 0 ? true : undefined));
  });

  test('a full score recompute refreshes the segments on scores at once, not at the next sweep (recompute.completed)', async () => {
    const scored = (await app.graphql(CreateSegmentDocument, { input: { name: 'scored by rfm', rule: { score: { kind: 'RFM', op: 'GTE', value: 0 } } } })).data!
      .createSegment;
    await eventually(async () => ((await detail(scored.id)).status === 'FRESH' ? true : undefined));
    const [{ n: before }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE kind = 'RFM'`);
    expect((await detail(scored.id)).size).toBe(before);
    expect((await app.graphql(RecomputeScoresDocument, { kinds: ['RFM'] })).errors).toBeUndefined();
    await eventually(async () => {
      const [{ n }] = await app.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_events WHERE type = 'recompute.completed' AND dispatched_at IS NOT NULL`,
      );
      return n > 0 ? true : undefined;
    });
    const [{ n: after }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE kind = 'RFM'`);
    expect(after).toBeGreaterThan(before);
    // Nothing else refreshes the segment within the test: no ingest, and the sweep runs every five minutes.
    await eventually(async () => {
      const s = await detail(scored.id);
      return s.status === 'FRESH' && s.size === after ? true : undefined;
    });
  });

  test('a rule change and refreshSegment re-evaluate in the background', async () => {
    const created = (await app.graphql(CreateSegmentDocument, { input: { name: 'any buyers', rule: { behavior: { type: 'purchase', op: 'GTE', value: 1 } } } }))
      .data!.createSegment;
    await eventually(async () => {
      const s = await detail(created.id);
      return s.status === 'FRESH' && s.size === 2 ? s : undefined;
    });
    await app.graphql(UpdateSegmentDocument, { id: created.id, input: { name: 'any buyers', rule: { behavior: { type: 'purchase', op: 'GTE', value: 3 } } } });
    await eventually(async () => {
      const s = await detail(created.id);
      return s.status === 'FRESH' && s.size === 0 ? s : undefined;
    });
    const { data } = await app.graphql(RefreshSegmentDocument, { id: created.id });
    expect(data!.refreshSegment.segment!.id).toBe(created.id);
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(data!.refreshSegment.status);
    await eventually(async () => ((await detail(created.id)).status === 'FRESH' ? true : undefined));
  });

  test('the segment sweep (time windows, scores, stale segments) is scheduled', async () => {
    const schedulers = await app.runtime.services.queues.queue(QUEUES.analytics).getJobSchedulers();
    expect(schedulers.map((s) => [s.name, s.every])).toContainEqual(['segments.sweep', 5 * 60_000]);
  });

  test('the sweep refreshes segments with moving windows', async () => {
    const created = (
      await app.graphql(CreateSegmentDocument, { input: { name: 'window', rule: { behavior: { type: 'purchase', lastDays: 2, op: 'GTE', value: 1 } } } })
    ).data!.createSegment;
    await eventually(async () => ((await detail(created.id)).status === 'FRESH' ? true : undefined));
    const before = (await detail(created.id)).size;
    // Time passes: age every interaction by two days, as the clock would.
    await app.sql(`UPDATE interactions SET occurred_at = occurred_at - interval '2 days'`);
    await app.runtime.services.queues.queue(QUEUES.analytics).add('segments.sweep', {});
    await eventually(async () => ((await detail(created.id)).size < before ? true : undefined));
  });
});

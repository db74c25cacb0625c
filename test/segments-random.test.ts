import { CreateSegmentDocument, PreviewSegmentDocument, type SegmentRuleInput } from './generated/graphql';
import { startTestApp, type TestApp } from './helpers/app';
import { seedCustomers, type SeedCustomer } from './helpers/segment-data';

/**
 * The randomized agreement test: on a small random data set, random valid
 * rules are evaluated four ways that must agree: previewSegment's count, the
 * materialised membership after a full refresh, the membership after
 * incremental (per customer) re-evaluation following data changes, and a
 * brute-force evaluation written here, independently, in plain JS over the
 * rows loaded from the tables.
 */

const DAY = 86_400_000;

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const SEED = Number(process.env.SEGMENTS_RANDOM_SEED ?? 20261122);
const STAGES = ['lead', 'customer', 'churned', 'prospect'];
const INDUSTRIES = ['finance', 'retail', 'tech'];
const RFM = ['Champions', 'Loyal', 'At Risk', 'Lost', 'Hibernating'];
const EVENTS = [
  ['payment', 'purchase'],
  ['email', 'open'],
  ['email', 'click'],
  ['support', 'ticket_opened'],
  ['web', 'page_view'],
] as const;

function randomInteraction(r: Rng) {
  const [channel, type] = r.pick(EVENTS);
  return {
    channel,
    type,
    daysAgo: r.int(0, 120) + 0.5,
    value: type === 'purchase' ? r.int(5, 100) : null,
    properties: channel === 'email' ? { campaign: r.pick(['a', 'b', 'c']) } : r.chance(0.3) ? { campaign: r.pick(['a', 'b']), n: r.int(1, 3) } : {},
  };
}

function randomCustomer(r: Rng, i: number): SeedCustomer {
  const traits: Record<string, unknown> = {};
  if (r.chance(0.8)) traits.industry = r.pick(INDUSTRIES);
  if (r.chance(0.7)) traits.employees = r.chance(0.85) ? r.int(1, 500) : 'many';
  if (r.chance(0.5)) traits.tags = ['vip', 'beta', 'new'].filter(() => r.chance(0.5));
  if (r.chance(0.3)) traits.address = { city: r.pick(['Berlin', 'Paris']) };
  return {
    name: `c${i}`,
    lifecycleStage: r.chance(0.85) ? r.pick(STAGES) : null,
    owner: r.chance(0.6) ? r.pick(['olga', 'piet']) : null,
    traits,
    interactions: Array.from({ length: r.int(0, 8) }, () => randomInteraction(r)),
    scores: [
      ...(r.chance(0.8)
        ? [
            (() => {
              const v = r.next();
              return { kind: 'CHURN_RISK', value: v, label: v < 0.3 ? 'LOW' : v < 0.7 ? 'MEDIUM' : 'HIGH' };
            })(),
          ]
        : []),
      ...(r.chance(0.8) ? [{ kind: 'RFM', value: r.int(1, 5), label: r.pick(RFM) }] : []),
    ],
  };
}

const isoDaysAgo = (d: number) => new Date(Date.now() - d * DAY).toISOString();

function randomAttribute(r: Rng): SegmentRuleInput {
  const kind = r.int(0, 9);
  const op = <T extends string>(ops: T[]) => r.pick(ops);
  switch (kind) {
    case 0: {
      const o = op(['EQ', 'NE', 'IN', 'NOT_IN', 'EXISTS', 'CONTAINS', 'STARTS_WITH'] as const);
      const value =
        o === 'IN' || o === 'NOT_IN'
          ? [r.pick(STAGES), r.pick(STAGES)]
          : o === 'EXISTS'
            ? r.chance(0.5)
            : o === 'CONTAINS'
              ? r.pick(['US', 'ea', 'x'])
              : o === 'STARTS_WITH'
                ? r.pick(['c', 'l', 'C'])
                : r.pick(STAGES);
      return { attribute: { field: 'lifecycleStage', op: o, value } };
    }
    case 1: {
      const o = op(['EQ', 'NE', 'EXISTS'] as const);
      return {
        attribute: { field: r.pick(['owner', 'kind', 'displayName']), op: o, value: o === 'EXISTS' ? r.chance(0.5) : r.pick(['olga', 'piet', 'PERSON', 'c3']) },
      };
    }
    case 2: {
      const o = op(['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE', 'BETWEEN', 'IN', 'NOT_IN'] as const);
      const field = r.pick(['interactionCount', 'transactionCount', 'transactionValue']);
      const n = () => (field === 'transactionValue' ? r.int(0, 300) : r.int(0, 6));
      const value = o === 'BETWEEN' ? [n(), n()].sort((a, b) => a - b) : o === 'IN' || o === 'NOT_IN' ? [n(), n(), n()] : n();
      return { attribute: { field, op: o, value } };
    }
    case 3: {
      const o = op(['GT', 'LT', 'BETWEEN', 'EXISTS'] as const);
      const field = r.pick(['lastSeenAt', 'firstSeenAt', 'createdAt']);
      const value =
        o === 'BETWEEN' ? [isoDaysAgo(r.int(60, 200)), isoDaysAgo(r.int(-1, 30))] : o === 'EXISTS' ? r.chance(0.5) : isoDaysAgo(r.pick([-1, 10, 30, 60, 100]));
      return { attribute: { field, op: o, value } };
    }
    case 4: {
      const o = op(['EQ', 'NE', 'IN', 'NOT_IN', 'EXISTS', 'STARTS_WITH', 'CONTAINS'] as const);
      const value =
        o === 'IN' || o === 'NOT_IN'
          ? [r.pick(INDUSTRIES), r.pick(INDUSTRIES)]
          : o === 'EXISTS'
            ? r.chance(0.5)
            : o === 'STARTS_WITH'
              ? r.pick(['fi', 're', 'F'])
              : o === 'CONTAINS'
                ? r.pick(['TAIL', 'e'])
                : r.pick(INDUSTRIES);
      return { attribute: { field: 'traits.industry', op: o, value } };
    }
    case 5: {
      const o = op(['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE', 'BETWEEN', 'EXISTS', 'IN'] as const);
      const value =
        o === 'BETWEEN'
          ? [r.int(0, 200), r.int(200, 500)]
          : o === 'EXISTS'
            ? true
            : o === 'IN'
              ? [r.int(1, 500), 'many']
              : o === 'EQ' || o === 'NE'
                ? r.pick([r.int(1, 500), 'many'])
                : r.int(1, 500);
      return { attribute: { field: 'traits.employees', op: o, value } };
    }
    case 6: {
      const o = op(['CONTAINS', 'EXISTS'] as const);
      return { attribute: { field: 'traits.tags', op: o, value: o === 'EXISTS' ? r.chance(0.5) : r.pick(['vip', 'beta', 'ne']) } };
    }
    case 7: {
      const o = op(['EQ', 'NE', 'EXISTS', 'CONTAINS'] as const);
      return { attribute: { field: 'traits.address.city', op: o, value: o === 'EXISTS' ? r.chance(0.5) : r.pick(['Berlin', 'paris']) } };
    }
    case 8: {
      const o = op(['EXISTS', 'NE'] as const);
      return { attribute: { field: 'traits.nothing.here', op: o, value: o === 'EXISTS' ? r.chance(0.5) : 'x' } };
    }
    default:
      return { attribute: { field: 'updatedAt', op: op(['GT', 'LT'] as const), value: isoDaysAgo(r.pick([-1, 1])) } };
  }
}

function randomProperty(r: Rng) {
  const op = r.pick(['EQ', 'NE', 'IN', 'EXISTS', 'GT'] as const);
  if (op === 'GT') return { path: 'n', op, value: r.int(0, 2) };
  return { path: 'campaign', op, value: op === 'EXISTS' ? r.chance(0.5) : op === 'IN' ? [r.pick(['a', 'b']), 'c'] : r.pick(['a', 'b']) };
}

function randomBehavior(r: Rng): SegmentRuleInput {
  const aggregate = r.pick(['COUNT', 'COUNT', 'SUM', 'DISTINCT_DAYS'] as const);
  const [channel, type] = r.pick(EVENTS);
  const windowKind = r.int(0, 3);
  return {
    behavior: {
      channel: r.chance(0.5) ? channel : undefined,
      type: r.chance(0.6) ? type : undefined,
      where: r.chance(0.25) ? [randomProperty(r)] : undefined,
      lastDays: windowKind === 0 ? r.pick([7, 30, 90]) : undefined,
      from: windowKind === 1 ? isoDaysAgo(r.int(30, 100)) : undefined,
      to: windowKind === 1 && r.chance(0.5) ? isoDaysAgo(r.int(0, 29)) : undefined,
      aggregate,
      op: r.pick(['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE'] as const),
      value: aggregate === 'SUM' ? r.int(0, 200) : r.int(0, 3),
    },
  };
}

function randomScore(r: Rng): SegmentRuleInput {
  const kind = r.pick(['CHURN_RISK', 'RFM', 'ENGAGEMENT'] as const);
  if (kind === 'RFM' && r.chance(0.7)) return { score: { kind, labelIn: [r.pick(RFM), r.pick(RFM)] } };
  if (kind === 'CHURN_RISK' && r.chance(0.5))
    return { score: { kind, labelIn: [r.pick(['LOW', 'MEDIUM', 'HIGH'])], op: r.chance(0.3) ? 'GT' : undefined, value: undefined } };
  return {
    score: {
      kind,
      op: r.pick(['GT', 'GTE', 'LT', 'LTE', 'NE'] as const),
      value: kind === 'CHURN_RISK' ? r.next() : kind === 'RFM' ? r.int(1, 5) : r.int(0, 60),
    },
  };
}

function randomRule(r: Rng, depth: number, segmentIds: string[]): SegmentRuleInput {
  if (depth < 3 && r.chance(0.45)) {
    const k = r.int(0, 2);
    if (k === 2) return { not: randomRule(r, depth + 1, segmentIds) };
    const children = Array.from({ length: r.int(1, 3) }, () => randomRule(r, depth + 1, segmentIds));
    return k === 0 ? { and: children } : { or: children };
  }
  const leaf = r.int(0, 9);
  if (leaf < 4) return randomAttribute(r);
  if (leaf < 7) return randomBehavior(r);
  if (leaf < 9 || segmentIds.length === 0) return randomScore(r);
  return { inSegment: r.pick(segmentIds) };
}

/** Drops the keys a generator left undefined, and a score's op without value (invalid). */
function clean(rule: SegmentRuleInput): SegmentRuleInput {
  return JSON.parse(
    JSON.stringify(rule, (k, v) => v),
    (k, v) => {
      if (v && typeof v === 'object' && 'kind' in v && 'op' in v && !('value' in v) && 'labelIn' in v) {
        const { op: _op, ...rest } = v;
        return rest;
      }
      return v;
    },
  );
}

// ---- brute force, independent of the compiler ----

interface Data {
  customers: {
    id: string;
    kind: string;
    display_name: string | null;
    lifecycle_stage: string | null;
    owner: string | null;
    traits: Record<string, unknown>;
    created_at: Date;
    updated_at: Date;
    deleted_at: Date | null;
  }[];
  stats: Map<
    string,
    { interaction_count: number; transaction_count: number; transaction_value: number; first_seen_at: Date | null; last_seen_at: Date | null }
  >;
  interactions: Map<string, { channel: string; type: string; occurred_at: Date; value: number | null; properties: Record<string, unknown> }[]>;
  scores: Map<string, { value: number; label: string | null }>;
}

async function load(app: TestApp): Promise<Data> {
  const customers = await app.sql<Data['customers'][number]>(
    `SELECT id::text, kind, display_name, lifecycle_stage, owner, traits, created_at, updated_at, deleted_at FROM customers ORDER BY id`,
  );
  const stats = new Map(
    (
      await app.sql<{
        customer_id: string;
        interaction_count: number;
        transaction_count: number;
        transaction_value: number;
        first_seen_at: Date | null;
        last_seen_at: Date | null;
      }>(
        `SELECT customer_id::text, interaction_count, transaction_count, transaction_value::float8 AS transaction_value, first_seen_at, last_seen_at FROM customer_stats`,
      )
    ).map((s) => [s.customer_id, s]),
  );
  const interactions = new Map<string, Data['interactions'] extends Map<string, infer V> ? V : never>();
  for (const i of await app.sql<{
    customer_id: string;
    channel: string;
    type: string;
    occurred_at: Date;
    value: number | null;
    properties: Record<string, unknown>;
  }>(`SELECT customer_id::text, channel, type, occurred_at, value::float8 AS value, properties FROM interactions`))
    interactions.set(i.customer_id, [...(interactions.get(i.customer_id) ?? []), i]);
  const scores = new Map(
    (await app.sql<{ customer_id: string; kind: string; value: number; label: string | null }>(`SELECT customer_id::text, kind, value, label FROM scores`)).map(
      (s) => [`${s.customer_id}:${s.kind}`, s],
    ),
  );
  return { customers, stats, interactions, scores };
}

type J = unknown;
const dig = (obj: J, path: string): J =>
  path.split('.').reduce<J>((o, k) => (o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, J>)[k] : undefined), obj);
const absent = (v: J) => v === undefined || v === null;
const jsonEq = (a: J, b: J) => !absent(a) && JSON.stringify(a) === JSON.stringify(b);

function jsonHolds(v: J, op: string, x: J): boolean {
  switch (op) {
    case 'EQ':
      return jsonEq(v, x);
    case 'NE':
      return !jsonEq(v, x);
    case 'IN':
      return (x as J[]).some((e) => jsonEq(v, e));
    case 'NOT_IN':
      return !(x as J[]).some((e) => jsonEq(v, e));
    case 'GT':
      return typeof v === 'number' && v > (x as number);
    case 'GTE':
      return typeof v === 'number' && v >= (x as number);
    case 'LT':
      return typeof v === 'number' && v < (x as number);
    case 'LTE':
      return typeof v === 'number' && v <= (x as number);
    case 'BETWEEN':
      return typeof v === 'number' && v >= (x as number[])[0] && v <= (x as number[])[1];
    case 'CONTAINS':
      return (typeof v === 'string' && v.toLowerCase().includes((x as string).toLowerCase())) || (Array.isArray(v) && v.includes(x));
    case 'STARTS_WITH':
      return typeof v === 'string' && v.startsWith(x as string);
    case 'EXISTS':
      return x === false ? absent(v) : !absent(v);
  }
  throw new Error(op);
}

function typedHolds(v: string | number | Date | null, op: string, x: J): boolean {
  const norm = (a: J) => (a instanceof Date ? a.getTime() : typeof a === 'string' && /^\d{4}-\d\d-\d\dT/.test(a) ? Date.parse(a) : a);
  const a = norm(v);
  switch (op) {
    case 'EQ':
      return a !== null && a === norm(x);
    case 'NE':
      return a === null || a !== norm(x);
    case 'IN':
      return a !== null && (x as J[]).map(norm).includes(a);
    case 'NOT_IN':
      return a === null || !(x as J[]).map(norm).includes(a);
    case 'GT':
      return a !== null && (a as number) > (norm(x) as number);
    case 'GTE':
      return a !== null && (a as number) >= (norm(x) as number);
    case 'LT':
      return a !== null && (a as number) < (norm(x) as number);
    case 'LTE':
      return a !== null && (a as number) <= (norm(x) as number);
    case 'BETWEEN':
      return a !== null && (a as number) >= (norm((x as J[])[0]) as number) && (a as number) <= (norm((x as J[])[1]) as number);
    case 'CONTAINS':
      return typeof a === 'string' && a.toLowerCase().includes((x as string).toLowerCase());
    case 'STARTS_WITH':
      return typeof a === 'string' && a.startsWith(x as string);
    case 'EXISTS':
      return x === false ? a === null : a !== null;
  }
  throw new Error(op);
}

const compare = (a: number, op: string, b: number) =>
  op === 'EQ' ? a === b : op === 'NE' ? a !== b : op === 'GT' ? a > b : op === 'GTE' ? a >= b : op === 'LT' ? a < b : a <= b;

function bruteForce(data: Data, rule: SegmentRuleInput, segments: Map<string, SegmentRuleInput>, now: number): Set<string> {
  const holds = (c: Data['customers'][number], node: SegmentRuleInput): boolean => {
    if (node.and) return node.and.every((n) => holds(c, n));
    if (node.or) return node.or.some((n) => holds(c, n));
    if (node.not) return !holds(c, node.not);
    if (node.attribute) {
      const { field, op, value } = node.attribute;
      if (field.startsWith('traits.')) return jsonHolds(dig(c.traits, field.slice(7)), op, value);
      const s = data.stats.get(c.id);
      const v = {
        kind: c.kind,
        displayName: c.display_name,
        lifecycleStage: c.lifecycle_stage,
        owner: c.owner,
        createdAt: c.created_at,
        updatedAt: c.updated_at,
        interactionCount: s?.interaction_count ?? 0,
        transactionCount: s?.transaction_count ?? 0,
        transactionValue: s?.transaction_value ?? 0,
        firstSeenAt: s?.first_seen_at ?? null,
        lastSeenAt: s?.last_seen_at ?? null,
      }[field];
      return typedHolds(v ?? null, op, value);
    }
    if (node.behavior) {
      const b = node.behavior;
      const matching = (data.interactions.get(c.id) ?? []).filter(
        (i) =>
          (b.channel == null || i.channel === b.channel) &&
          (b.type == null || i.type === b.type) &&
          (b.lastDays == null || i.occurred_at.getTime() >= now - b.lastDays * DAY) &&
          (b.from == null || i.occurred_at.getTime() >= Date.parse(b.from)) &&
          (b.to == null || i.occurred_at.getTime() < Date.parse(b.to)) &&
          (b.where ?? []).every((w) => jsonHolds(dig(i.properties, w.path), w.op, w.value)),
      );
      const figure =
        b.aggregate === 'SUM'
          ? matching.reduce((sum, i) => sum + (i.value ?? 0), 0)
          : b.aggregate === 'DISTINCT_DAYS'
            ? new Set(matching.map((i) => i.occurred_at.toISOString().slice(0, 10))).size
            : matching.length;
      return compare(figure, b.op, b.value);
    }
    if (node.score) {
      const s = data.scores.get(`${c.id}:${node.score.kind}`);
      if (!s) return false;
      if (node.score.op != null && node.score.value != null && !compare(s.value, node.score.op, node.score.value)) return false;
      if (node.score.labelIn && !(s.label !== null && node.score.labelIn.includes(s.label))) return false;
      return true;
    }
    if (node.inSegment) return holds(c, segments.get(node.inSegment)!);
    throw new Error(`unexpected node ${JSON.stringify(node)}`);
  };
  return new Set(data.customers.filter((c) => !c.deleted_at && holds(c, rule)).map((c) => c.id));
}

// ---- the test ----

describe('randomized agreement: preview, full refresh, incremental refresh and brute force', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  test(`random rules agree four ways (seed ${SEED})`, async () => {
    const r = prng(SEED);
    const ids = await seedCustomers(
      app,
      Array.from({ length: 40 }, (_, i) => randomCustomer(r, i)),
    );
    const customerIds = [...ids.values()];
    const rules = new Map<string, SegmentRuleInput>(); // global segment id → rule
    const localIds = new Map<string, string>();
    const memberships = async (segmentLocalId: string) =>
      new Set(
        (await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM segment_memberships WHERE segment_id = $1`, [segmentLocalId])).map((m) => m.id),
      );
    const sorted = (s: Set<string>) => [...s].sort((a, b) => Number(a) - Number(b));

    let data = await load(app);
    let nonEmpty = 0;
    for (let n = 0; n < 30; n++) {
      const rule = clean(randomRule(r, 1, [...rules.keys()]));
      const expected = bruteForce(data, rule, rules, Date.now());
      const preview = await app.graphql(PreviewSegmentDocument, { rule });
      expect({ rule, errors: preview.errors }).toEqual({ rule, errors: undefined });
      expect({ rule, count: preview.data!.previewSegment.count }).toEqual({ rule, count: expected.size });

      const created = await app.graphql(CreateSegmentDocument, { input: { name: `random ${n}`, rule } });
      expect(created.errors).toBeUndefined();
      const globalId = created.data!.createSegment.id;
      const localId = Buffer.from(globalId, 'base64').toString().split(':')[1];
      rules.set(globalId, rule);
      localIds.set(globalId, localId);
      await app.runtime.services.segments.memberships.refreshSegment(localId);
      expect({ rule, members: sorted(await memberships(localId)) }).toEqual({ rule, members: sorted(expected) });
      if (expected.size > 0 && expected.size < customerIds.length) nonEmpty++;
    }
    // The generator must produce discriminating rules, not only empty or full ones.
    expect(nonEmpty).toBeGreaterThanOrEqual(8);

    // Changes, then incremental re-evaluation of only the touched customers.
    for (let round = 0; round < 3; round++) {
      const touched = customerIds.filter(() => r.chance(0.3));
      for (const id of touched) {
        const action = r.int(0, 4);
        if (action <= 1) {
          const i = randomInteraction(r);
          await app.sql(
            `INSERT INTO interactions (customer_id, channel, type, occurred_at, value, properties, source, external_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'random', $7)`,
            [id, i.channel, i.type, isoDaysAgo(r.int(0, 10) + 0.5), i.value, JSON.stringify(i.properties), `r-${round}-${id}-${r.int(0, 1e9)}`],
          );
        } else if (action === 2) {
          await app.sql(`UPDATE customers SET lifecycle_stage = $2, traits = traits || $3::jsonb, updated_at = now() WHERE id = $1`, [
            id,
            r.pick(STAGES),
            JSON.stringify({ industry: r.pick(INDUSTRIES), employees: r.int(1, 500) }),
          ]);
        } else if (action === 3) {
          await app.sql(`DELETE FROM interactions WHERE id IN (SELECT id FROM interactions WHERE customer_id = $1 ORDER BY id LIMIT 2)`, [id]);
        } else if (r.chance(0.2)) {
          await app.sql(`UPDATE customers SET deleted_at = now() WHERE id = $1`, [id]);
        }
      }
      await app.sql(`UPDATE customers SET dirty_since = now() WHERE id = ANY($1::bigint[])`, [touched]);
      await app.runtime.services.stats.refreshCustomers(touched);

      data = await load(app);
      const now = Date.now();
      for (const [globalId, rule] of rules) {
        const expected = bruteForce(data, rule, rules, now);
        const localId = localIds.get(globalId)!;
        const members = await memberships(localId);
        expect({ round, rule, members: sorted(members) }).toEqual({ round, rule, members: sorted(expected) });
        const [{ size }] = await app.sql<{ size: number }>(`SELECT size FROM segments WHERE id = $1`, [localId]);
        expect({ rule, size }).toEqual({ rule, size: members.size });
        const preview = await app.graphql(PreviewSegmentDocument, { rule });
        expect({ rule, count: preview.data!.previewSegment.count }).toEqual({ rule, count: expected.size });
      }
    }

    // Replaying every segment's events gives its current membership.
    for (const localId of localIds.values()) {
      const replay = new Set<string>();
      for (const e of await app.sql<{ customer_id: string; kind: string }>(
        `SELECT customer_id::text, kind FROM segment_membership_events WHERE segment_id = $1 ORDER BY id`,
        [localId],
      )) {
        if (e.kind === 'ENTERED') {
          expect(replay.has(e.customer_id)).toBe(false);
          replay.add(e.customer_id);
        } else {
          expect(replay.delete(e.customer_id)).toBe(true);
        }
      }
      expect(sorted(replay)).toEqual(sorted(await memberships(localId)));
    }
  });
});

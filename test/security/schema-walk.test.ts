import {
  extendSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isObjectType,
  isScalarType,
  parse,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { getSchema } from '../../src/graphql/schema';
import { FIELD_PROTECTION, INPUT_PROTECTION } from '../../src/modules/access/pii';
import { startTestApp, type TestApp } from '../helpers/app';
import { errorOf, expectNoSecrets, seedPersonalWorld, VICTIM, type GraphQLResponse, type PersonalWorld, type UntypedData } from '../helpers/personal-data';

/**
 * Walks the built schema: every field, argument and input field that could
 * carry or select by personal data must be classified in
 * src/modules/access/pii.ts, and every classification other than
 * "impersonal" is probed below with a key that has every scope but pii:read
 * (masked values or FORBIDDEN, through outputs, orderBy, cursors, rules and
 * explanations). A new field fails here until it is classified and, if it
 * touches personal data, probed.
 */

const FREE_FORM = new Set(['String', 'JSON']);
const isPlain = (type: GraphQLNamedType) => isEnumType(type) || (isScalarType(type) && !FREE_FORM.has(type.name));

interface Walk {
  /** `Type.field` that must be classified; `plain` when only its arguments need it (its type is a plain scalar or enum). */
  outputs: { key: string; plain: boolean }[];
  /** `Type.field(arg)` of every argument. */
  args: string[];
  /** `Input.field`, `Enum` or `Enum.VALUE` reachable from the arguments of reads. */
  inputs: { key: string; enumValues?: string[] }[];
}

/** What the schema says must be classified (see the rule in pii.ts). */
function walkSchema(schema: GraphQLSchema): Walk {
  const walk: Walk = { outputs: [], args: [], inputs: [] };
  const seenInputs = new Set<string>();
  const visitInput = (type: GraphQLNamedType) => {
    if (seenInputs.has(type.name)) return;
    seenInputs.add(type.name);
    if (isEnumType(type)) {
      walk.inputs.push({ key: type.name, enumValues: type.getValues().map((v) => `${type.name}.${v.name}`) });
      return;
    }
    if (!isInputObjectType(type)) return;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (FREE_FORM.has(named.name) || isInputObjectType(named)) walk.inputs.push({ key: `${type.name}.${field.name}` });
      visitInput(named);
    }
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      const structural =
        (type.name.endsWith('Connection') && ['edges', 'pageInfo'].includes(field.name)) || (type.name.endsWith('Edge') && field.name === 'node');
      if (!structural && (!isPlain(named) || field.args.length > 0)) walk.outputs.push({ key: `${type.name}.${field.name}`, plain: isPlain(named) });
      for (const arg of field.args) {
        walk.args.push(`${type.name}.${field.name}(${arg.name})`);
        if (type.name !== 'Mutation') visitInput(getNamedType(arg.type));
      }
    }
  }
  return walk;
}

/** Entries the schema needs and pii.ts does not give. */
function unclassified(schema: GraphQLSchema): string[] {
  const { outputs, args, inputs } = walkSchema(schema);
  const missing: string[] = [];
  for (const { key, plain } of outputs) {
    if (!FIELD_PROTECTION[key] || (!plain && !FIELD_PROTECTION[key].output)) missing.push(key);
  }
  for (const key of args) {
    const [, field, arg] = /^(.+)\((.+)\)$/.exec(key)!;
    if (!FIELD_PROTECTION[field]?.args?.[arg]) missing.push(key);
  }
  for (const { key, enumValues } of inputs) {
    if (enumValues) {
      if (!(key in INPUT_PROTECTION)) missing.push(...enumValues.filter((v) => !(v in INPUT_PROTECTION)));
    } else if (!(key in INPUT_PROTECTION)) missing.push(key);
  }
  return missing;
}

describe('every field that can carry or select by personal data is classified', () => {
  test('the walk finds nothing unclassified in the schema', () => {
    expect(unclassified(getSchema())).toEqual([]);
  });

  test('nothing is classified that the schema does not have (no stale entries)', () => {
    const schema = getSchema();
    const stale: string[] = [];
    for (const [key, protection] of Object.entries(FIELD_PROTECTION)) {
      const [typeName, fieldName] = key.split('.');
      const type = schema.getType(typeName);
      const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
      if (!field) stale.push(key);
      for (const arg of Object.keys(protection.args ?? {})) if (!field?.args.some((a) => a.name === arg)) stale.push(`${key}(${arg})`);
    }
    for (const key of Object.keys(INPUT_PROTECTION)) {
      const [typeName, member] = key.split('.');
      const type = schema.getType(typeName);
      const exists =
        member === undefined
          ? isEnumType(type)
          : isEnumType(type)
            ? type.getValue(member) !== undefined
            : isInputObjectType(type) && member in type.getFields();
      if (!exists) stale.push(key);
    }
    expect(stale).toEqual([]);
  });

  test('a new field, argument or input field that could hold personal data fails the walk until classified', () => {
    const extended = extendSchema(
      getSchema(),
      parse(`
        extend type Customer { nickname: String, diary: JSON, lookalike: Customer }
        extend type Query { customersByNickname(nickname: String!): [Customer!]! }
        extend input CustomerFilter { nickname: StringFilter }
        extend input TraitFilter { like: String }
        extend enum CustomerOrderField { NICKNAME }
      `),
    );
    expect(unclassified(extended).sort()).toEqual(
      [
        'Customer.diary',
        'Customer.lookalike',
        'Customer.nickname',
        'CustomerFilter.nickname',
        'CustomerOrderField.NICKNAME',
        'Query.customersByNickname',
        'Query.customersByNickname(nickname)',
        'TraitFilter.like',
      ].sort(),
    );
  });

  test('every masked field is wrapped in the built schema', () => {
    const schema = getSchema();
    const masked = Object.entries(FIELD_PROTECTION)
      .filter(([, p]) => p.output?.kind === 'masked')
      .map(([key]) => key);
    expect(masked.length).toBeGreaterThan(0);
    for (const key of masked) {
      const [typeName, fieldName] = key.split('.');
      const field = (schema.getType(typeName) as never as { getFields(): Record<string, { extensions: { piiMasked?: boolean } }> }).getFields()[fieldName];
      expect({ key, wrapped: field.extensions.piiMasked }).toEqual({ key, wrapped: true });
    }
  });
});

/** Every classification that a key without pii:read must be shown to meet. */
function probedKeys(): string[] {
  const keys: string[] = [];
  for (const [key, protection] of Object.entries(FIELD_PROTECTION)) {
    if (protection.output && protection.output.kind !== 'impersonal') keys.push(key);
    for (const [arg, kind] of Object.entries(protection.args ?? {})) if (kind === 'personal' || kind === 'cursor') keys.push(`${key}(${arg})`);
  }
  for (const [key, kind] of Object.entries(INPUT_PROTECTION)) if (kind === 'personal') keys.push(key);
  return keys.sort();
}

describe('a key without pii:read meets every classification', () => {
  let app: TestApp;
  let w: PersonalWorld;
  /** Every response the narrow key got: checked for personal values at the end. */
  const narrowResponses: GraphQLResponse[] = [];

  /** Alerts of the victim: one on a segment over personal data (hidden without pii:read), one on `contact`. */
  const alertIds = { personalRule: '', contactRule: '', personal: '', contact: '' };
  const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
  const dbId = (global: string) => Buffer.from(global, 'base64').toString().split(':')[1];

  beforeAll(async () => {
    app = await startTestApp();
    w = await seedPersonalWorld(app);
    for (const [key, segment] of [
      ['personal', w.segments.transitive],
      ['contact', w.segments.contact],
    ] as const) {
      const [rule] = await app.sql<{ id: string }>(
        `INSERT INTO alert_rules (name, trigger, segment_id, cooldown_seconds) VALUES ($1, 'SEGMENT_ENTERED', $2, 0) RETURNING id::text`,
        [`probe ${key}`, dbId(segment)],
      );
      const [alert] = await app.sql<{ id: string }>(
        `INSERT INTO alerts (rule_id, rule_name, customer_id, trigger, segment_id, event_id, triggered_at)
         VALUES ($1, $2, $3, 'SEGMENT_ENTERED', $4, 1, now()) RETURNING id::text`,
        [rule.id, `probe ${key}`, dbId(w.cid(VICTIM.name)), dbId(segment)],
      );
      alertIds[key] = gid('Alert', alert.id);
      alertIds[key === 'personal' ? 'personalRule' : 'contactRule'] = gid('AlertRule', rule.id);
    }
  });
  afterAll(() => app.close());

  const narrow = async (query: string, variables?: Record<string, unknown>) => {
    const res = await w.post(w.narrow, query, variables);
    narrowResponses.push(res);
    expectNoSecrets(res);
    return res;
  };
  const forbidden = async (query: string, field: string, variables?: Record<string, unknown>) => {
    const res = await narrow(query, variables);
    expect(errorOf(res)).toEqual({ code: 'FORBIDDEN', field });
  };
  const victim = () => w.cid(VICTIM.name);
  const FORGED = Buffer.from(JSON.stringify(['notatime', '1'])).toString('base64url');

  /** The same edge fetched twice has two different cursors (sealed with a fresh IV) that are not JSON. */
  const sealed = async (query: string, pick: (data: UntypedData) => string) => {
    const [a, b] = [pick((await narrow(query)).data!), pick((await narrow(query)).data!)];
    expect(typeof a).toBe('string');
    expect(a).not.toBe(b);
    expect(() => JSON.parse(Buffer.from(a, 'base64url').toString('utf8'))).toThrow();
  };
  /** `after` refuses a forged cursor with INVALID_CURSOR; `before` is never read as one. */
  const cursorArg = (query: (arg: string) => string) => ({
    after: async () => {
      const res = await narrow(query('after: $c'), { c: FORGED });
      expect(errorOf(res)).toEqual({ code: 'INVALID_CURSOR', field: 'after' });
    },
    before: async () => {
      const res = await narrow(query('before: $c'), { c: FORGED });
      expect(errorOf(res)).toEqual({ code: 'BAD_REQUEST', field: 'before' });
    },
  });
  const customersArg = cursorArg((a) => `query($c: String) { customers(first: 1, ${a}) { totalCount } }`);
  const interactionsArg = cursorArg((a) => `query($c: String) { interactions(first: 1, ${a}) { totalCount } }`);
  const customerInteractionsArg = cursorArg((a) => `query($c: String) { customer(id: "${victim()}") { interactions(first: 1, ${a}) { totalCount } } }`);
  const orgMembersArg = cursorArg((a) => `query($c: String) { customer(id: "${w.cid('Acme Corp')}") { members(first: 1, ${a}) { totalCount } } }`);
  const segmentsArg = cursorArg((a) => `query($c: String) { segments(first: 1, ${a}) { totalCount } }`);
  const segmentMembersArg = cursorArg((a) => `query($c: String) { segment(id: "${w.segments.contact}") { members(first: 1, ${a}) { totalCount } } }`);
  const duplicatePairsArg = cursorArg((a) => `query($c: String) { duplicatePairs(first: 1, minScore: 0, ${a}) { totalCount } }`);
  /** A duplicate pair between the victim and Bob, with evidence drawn from their personal data. */
  const duplicatePair = async () => {
    const [a, b] = [w.ids.get(VICTIM.name)!, w.ids.get('Bob Builder')!].sort((x, y) => Number(x) - Number(y));
    await app.sql(`INSERT INTO duplicate_pairs (customer_a, customer_b, score, evidence) VALUES ($1, $2, 0.97, $3) ON CONFLICT DO NOTHING`, [
      a,
      b,
      JSON.stringify([
        { field: 'birthDate', level: 'EXACT', weight: 7.25 },
        { field: 'familyName', level: 'PHONETIC', weight: 3.5 },
      ]),
    ]);
  };
  const connectionsArg = cursorArg((a) => `query($c: String) { connections(first: 1, ${a}) { totalCount } }`);
  const audienceArg = cursorArg((a) => `query($c: String) { productAudience(product: "P2", first: 1, ${a}) { totalCount } }`);
  /** Three customers who take products P1 and P2 (identified by shop ids), and a fitted recommendation model: an audience to page through. */
  let audience: Promise<void> | undefined;
  const withAudience = () =>
    (audience ??= (async () => {
      const purchases = [
        ['rec-1', 'P1'],
        ['rec-1', 'P2'],
        ['rec-2', 'P1'],
        ['rec-2', 'P2'],
        ['rec-3', 'P1'],
        ['rec-4', 'P1'],
      ].map(([shop, product], i) => ({
        customer: { identifiers: [{ type: 'shop', value: shop }] },
        channel: 'payment',
        type: 'purchase',
        occurredAt: new Date(Date.now() - (i + 1) * 60_000).toISOString(),
        properties: { product },
        source: 'schema-walk',
        externalId: `recommendation-${i}`,
      }));
      const res = await narrow('mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { rejected } }', { input: purchases });
      expect(res.data!.recordInteractions.rejected).toBe(0);
      await app.runtime.services.recommendations.recompute();
    })());
  const alertsArg = cursorArg((a) => `query($c: String) { alerts(first: 1, ${a}) { totalCount } }`);
  const customerAlertsArg = cursorArg((a) => `query($c: String) { customer(id: "${victim()}") { alerts(first: 1, ${a}) { totalCount } } }`);
  const personalTrigger = () => ({ segmentEntered: { segmentId: w.segments.transitive } });
  const runsArg = cursorArg((a) => `query($c: String) { connection(id: "${w.connection}") { runs(first: 1, ${a}) { totalCount } } }`);
  /** A webhook endpoint with one delivery, written as the outbox consumer would (webhooks:admin is among the narrow key's scopes). */
  let webhookEndpoint: string | undefined;
  const seededEndpoint = async () => {
    if (!webhookEndpoint) {
      const [{ id }] = await app.sql<{ id: string }>(
        `INSERT INTO webhook_endpoints (url, events, secret) VALUES ('https://hooks.example.com/rapport', '{customer.updated}', 'enc:v1:unused') RETURNING id::text`,
      );
      await app.sql(
        `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, event_at) VALUES ($1, 1, 'customer.updated', '{"type":"customer.updated","data":{}}', now())`,
        [id],
      );
      webhookEndpoint = Buffer.from(`WebhookEndpoint:${id}`).toString('base64');
    }
    return webhookEndpoint;
  };
  const webhookDeliveriesArg = {
    after: async () => {
      const res = await narrow(`query($c: String) { webhookDeliveries(endpointId: "${await seededEndpoint()}", first: 1, after: $c) { totalCount } }`, {
        c: FORGED,
      });
      expect(errorOf(res)).toEqual({ code: 'INVALID_CURSOR', field: 'after' });
    },
    before: async () => {
      const res = await narrow(`query($c: String) { webhookDeliveries(endpointId: "${await seededEndpoint()}", first: 1, before: $c) { totalCount } }`, {
        c: FORGED,
      });
      expect(errorOf(res)).toEqual({ code: 'BAD_REQUEST', field: 'before' });
    },
  };

  const customerFilter = (filter: unknown, field: string) =>
    forbidden('query($f: CustomerFilter) { customers(filter: $f) { totalCount } }', field, { f: filter });
  const preview = (rule: unknown, field: string) => forbidden('query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count } }', field, { r: rule });
  const byDisplayName = () => forbidden('{ customers(orderBy: [{ field: DISPLAY_NAME, direction: DESC }]) { totalCount } }', 'orderBy[0].field');
  const byIdentifier = () => forbidden(`{ customer(identifier: { type: "email", value: "${VICTIM.email}" }) { id } }`, 'identifier');
  const nameRule = { attribute: { field: 'displayName', op: 'STARTS_WITH', value: 'A' } };
  /**
   * A CHURN_PROPENSITY model using the personal trait `ssn` as a feature, and the victim's score explained by
   * it (written as a fit and a refresh store them), read back by the narrow key.
   */
  const seedChurnPropensity = async () => {
    const id = w.ids.get(VICTIM.name)!;
    const keys = [JSON.stringify([`ssn = ${VICTIM.ssn}`, 'ssn', VICTIM.ssn]), JSON.stringify(['industry = finance', 'industry', 'finance'])];
    const coefficients = [
      { feature: `ssn = ${VICTIM.ssn}`, trait: 'ssn', level: VICTIM.ssn, coefficient: 1.2 },
      { feature: 'industry = finance', trait: 'industry', level: 'finance', coefficient: -0.5 },
    ];
    const settings = {
      population: { attribute: { field: 'traits.ssn', op: 'EQ', value: VICTIM.ssn } },
      outcome: { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } },
      features: { traits: ['ssn', 'industry'] },
    };
    const parameters = {
      encoding: {
        categorical: [
          { trait: 'ssn', levels: [VICTIM.ssn, '987-65-4321'] },
          { trait: 'industry', levels: ['finance', 'retail'] },
        ],
      },
    };
    await app.sql(
      `INSERT INTO score_models (kind, settings, parameters, diagnostics, fitted_at, version) VALUES ('CHURN_PROPENSITY', $3, $1, $2, now(), 1)
       ON CONFLICT (kind) DO UPDATE SET settings = EXCLUDED.settings, parameters = EXCLUDED.parameters, diagnostics = EXCLUDED.diagnostics`,
      [JSON.stringify(parameters), JSON.stringify({ coefficients }), JSON.stringify(settings)],
    );
    for (const [value, table] of [
      [0.6, 'score_history'],
      [0.7, 'scores'],
    ] as const) {
      const columns = table === 'scores' ? 'model_version, computed_at, changed_at' : 'recorded_at';
      const values = table === 'scores' ? '1, now(), now()' : "now() - interval '1 day'";
      await app.sql(
        `INSERT INTO ${table} (customer_id, kind, value, label, component_values, component_keys, ${columns})
         SELECT $1, 'CHURN_PROPENSITY', $2, 'HIGH', ARRAY[$2, 0.85, -0.3, 0.45, 1.2, -0.5]::float8[], $3::text[], ${values}
          WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE customer_id = $1 AND kind = 'CHURN_PROPENSITY')`,
        [id, value, keys],
      );
    }
  };
  const churnExplanation = async (where: 'score' | 'history') => {
    await seedChurnPropensity();
    const res = await narrow(`{ customer(id: "${victim()}") { score(kind: CHURN_PROPENSITY) { components history(first: 2) { components } } } }`);
    const score = res.data!.customer.score;
    return where === 'score' ? score.components : score.history[1].components;
  };
  const churnModel = async () => {
    await seedChurnPropensity();
    const res = await narrow('{ scoreModels { kind parameters diagnostics } }');
    return res.data!.scoreModels.find((m: { kind: string }) => m.kind === 'CHURN_PROPENSITY');
  };
  const explainContact = async () => {
    const res = await narrow(`{ explainMembership(segmentId: "${w.segments.contact}", customerId: "${victim()}") { conditions { path figure description } } }`);
    return res.data!.explainMembership.conditions.find((c: { path: string }) => c.path === 'rule.and[0].attribute');
  };

  const PROBES: Record<string, () => Promise<void>> = {
    'Query.webhookDeliveries(after)': () => webhookDeliveriesArg.after(),
    'Query.webhookDeliveries(before)': () => webhookDeliveriesArg.before(),
    'WebhookDeliveryEdge.cursor': async () => {
      const endpoint = await seededEndpoint();
      await sealed(`{ webhookDeliveries(endpointId: "${endpoint}", first: 1) { edges { cursor } } }`, (d) => d.webhookDeliveries.edges[0].cursor);
    },
    // Masked outputs
    'Customer.displayName': async () => {
      expect((await narrow(`{ customer(id: "${victim()}") { displayName } }`)).data!.customer.displayName).toBe('A•••');
    },
    'Customer.traits': async () => {
      const traits = (await narrow(`{ customer(id: "${victim()}") { traits } }`)).data!.customer.traits;
      expect(traits).toMatchObject({ ssn: '•••', Email: '•••', contact: { email: '•••', city: 'Paris' }, industry: 'finance' });
    },
    'Identifier.value': async () => {
      expect((await narrow(`{ customer(id: "${victim()}") { identifiers { type value } } }`)).data!.customer.identifiers).toEqual([
        { type: 'email', value: 'a•••' },
      ]);
    },
    'CustomerMerge.reason': async () => {
      // Two customers of its own, so the merge moves nothing the other probes read.
      const [x, y] = await app.sql<{ id: string }>(`INSERT INTO customers (display_name) VALUES ('Merge Probe X'), ('Merge Probe Y') RETURNING id::text`);
      const { mergeId } = await app.runtime.services.merges.merge({ survivorId: x.id, mergedIds: [y.id], actor: 'test', reason: 'Ada asked' });
      const id = Buffer.from(`CustomerMerge:${mergeId}`).toString('base64');
      expect((await narrow(`{ customerMerge(id: "${id}") { reason } }`)).data!.customerMerge.reason).toBe('A•••');
      expect((await w.post(w.pii, `{ customerMerge(id: "${id}") { reason } }`)).data!.customerMerge.reason).toBe('Ada asked');
    },
    'Interaction.properties': async () => {
      const res = await narrow('{ interactions(first: 5, filter: { type: { eq: "purchase" } }) { edges { node { properties } } } }');
      expect(res.data!.interactions.edges[0].node.properties).toEqual({ email: '•••', name: '•••', phone: '•••', contact: { Phone: '•••' }, sku: 'A-1' });
    },
    'RecommendationReason.text': async () => {
      // A fitted model, and a popular list of Acme Corp: its members without product history (the victim) fall back on it.
      await withAudience();
      await app.sql(`INSERT INTO product_popularity (organization_id, product, weight, rank) VALUES ($1, 'P1', 2, 1) ON CONFLICT DO NOTHING`, [
        w.ids.get('Acme Corp'),
      ]);
      const query = `{ customer(id: "${victim()}") { recommendations(first: 1) { because { kind text organization { displayName } } } } }`;
      const reason = (await narrow(query)).data!.customer.recommendations[0].because[0];
      expect(reason).toEqual({
        kind: 'POPULAR_IN_ORGANIZATION',
        text: `no product history yet: popular in the customer's organisation "A•••" (100.0% of its top products' weight)`,
        organization: { displayName: 'A•••' },
      });
      const full = (await w.post(w.pii, query)).data!.customer.recommendations[0].because[0];
      expect(full.text).toContain('"Acme Corp"');
    },
    'Segment.rule': async () => {
      expect((await narrow(`{ segment(id: "${w.segments.personal}") { rule } }`)).data!.segment.rule.attribute.value).toBe('•••');
    },
    'Score.components': async () => {
      const e = await churnExplanation('score');
      expect(e.up).toEqual([{ feature: 'ssn = •••', trait: 'ssn', level: '•••', contribution: '•••' }]);
      expect(e.down).toEqual([{ feature: 'industry = finance', trait: 'industry', level: 'finance', contribution: -0.5 }]);
      expect(e.rest).toBe('•••');
    },
    'ScorePoint.components': async () => {
      const e = await churnExplanation('history');
      expect(e.up[0]).toEqual({ feature: 'ssn = •••', trait: 'ssn', level: '•••', contribution: '•••' });
    },
    'ScoreModel.diagnostics': async () => {
      const model = await churnModel();
      expect(model.diagnostics.coefficients).toEqual([
        { feature: 'ssn = •••', trait: 'ssn', level: '•••', coefficient: 1.2 },
        { feature: 'industry = finance', trait: 'industry', level: 'finance', coefficient: -0.5 },
      ]);
    },
    'ScoreModel.settings': async () => {
      await seedChurnPropensity();
      const res = await narrow('{ scoreModels { kind settings } }');
      const settings = res.data!.scoreModels.find((m: { kind: string }) => m.kind === 'CHURN_PROPENSITY').settings;
      expect(settings.population).toEqual({ attribute: { field: 'traits.ssn', op: 'EQ', value: '•••' } });
      expect(settings.outcome).toEqual({ attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } });
    },
    'ScoreModel.parameters': async () => {
      const model = await churnModel();
      expect(model.parameters.encoding.categorical).toEqual([
        { trait: 'ssn', levels: ['•••', '•••'] },
        { trait: 'industry', levels: ['finance', 'retail'] },
      ]);
    },
    'SegmentConditionExplanation.figure': async () => {
      expect((await explainContact()).figure).toEqual({ email: '•••', city: 'Paris' });
    },
    'SegmentConditionExplanation.description': async () => {
      expect((await explainContact()).description).toBe('traits.contact: {"city":"Paris","email":"•••"} is present');
    },
    // Fields that need pii:read
    'Query.exportCustomer': () => forbiddenScope(`{ exportCustomer(id: "${victim()}") }`),
    // Membership of segments on personal data
    'Segment.members': () => forbidden(`{ segment(id: "${w.segments.personal}") { members { edges { node { id } } } } }`, 'members'),
    'Segment.history': () => forbidden(`{ segment(id: "${w.segments.transitive}") { history { kind } } }`, 'history'),
    'Subscription.segmentMembershipChanged': () =>
      forbidden(`subscription { segmentMembershipChanged(segmentId: "${w.segments.transitive}") { __typename } }`, 'segmentId'),
    'Query.explainMembership': () =>
      forbidden(`{ explainMembership(segmentId: "${w.segments.transitive}", customerId: "${victim()}") { isMember } }`, 'segmentId'),
    'Customer.segments': async () => {
      expect((await narrow(`{ customer(id: "${victim()}") { segments { id } } }`)).data!.customer.segments).toEqual([{ id: w.segments.contact }]);
    },
    'Customer.segmentHistory': async () => {
      const events = (await narrow(`{ customer(id: "${victim()}") { segmentHistory { segment { id } } } }`)).data!.customer.segmentHistory;
      expect(events).toEqual([{ segment: { id: w.segments.contact } }]);
    },
    'Query.alerts': async () => {
      const edges = (await narrow('{ alerts { totalCount edges { node { id segment { id } } } } }')).data!.alerts.edges;
      expect(edges).toEqual([{ node: { id: alertIds.contact, segment: { id: w.segments.contact } } }]);
    },
    'Customer.alerts': async () => {
      const res = await narrow(`{ customer(id: "${victim()}") { alerts { totalCount edges { node { id } } } } }`);
      expect(res.data!.customer.alerts).toEqual({ totalCount: 1, edges: [{ node: { id: alertIds.contact } }] });
    },
    'Subscription.alertFired': () => forbidden(`subscription { alertFired(ruleId: "${alertIds.personalRule}") { __typename } }`, 'ruleId'),
    'Mutation.acknowledgeAlert': () => forbidden(`mutation { acknowledgeAlert(id: "${alertIds.personal}") { status } }`, 'id'),
    'Mutation.resolveAlert': () => forbidden(`mutation { resolveAlert(id: "${alertIds.personal}") { status } }`, 'id'),
    // Cursors returned
    'AlertEdge.cursor': () => sealed('{ alerts(first: 1) { edges { cursor } } }', (d) => d.alerts.edges[0].cursor),
    'DuplicatePair.evidence': async () => {
      await duplicatePair();
      const res = await narrow('{ duplicatePairs(first: 5, minScore: 0) { edges { node { score evidence { field level weight } } } } }');
      expect(res.data!.duplicatePairs.edges[0].node).toEqual({
        score: 0.97,
        evidence: [
          { field: 'birthDate', level: '•••', weight: null },
          { field: 'familyName', level: '•••', weight: null },
        ],
      });
    },
    // Cursors returned
    'DuplicatePairEdge.cursor': async () => {
      await duplicatePair();
      await sealed('{ duplicatePairs(first: 1, minScore: 0) { edges { cursor } } }', (d) => d.duplicatePairs.edges[0].cursor);
    },
    'CustomerEdge.cursor': () => sealed('{ customers(first: 1) { edges { cursor } } }', (d) => d.customers.edges[0].cursor),
    'InteractionEdge.cursor': () => sealed('{ interactions(first: 1) { edges { cursor } } }', (d) => d.interactions.edges[0].cursor),
    'SegmentEdge.cursor': () => sealed('{ segments(first: 1) { edges { cursor } } }', (d) => d.segments.edges[0].cursor),
    'ConnectionEdge.cursor': () => sealed('{ connections(first: 1) { edges { cursor } } }', (d) => d.connections.edges[0].cursor),
    'ProductAudienceEdge.cursor': async () => {
      await withAudience();
      await sealed('{ productAudience(product: "P2", first: 1) { edges { cursor } } }', (d) => d.productAudience.edges[0].cursor);
    },
    'ConnectorRunEdge.cursor': () =>
      sealed(`{ connection(id: "${w.connection}") { runs(first: 1) { edges { cursor } } } }`, (d) => d.connection.runs.edges[0].cursor),
    'PageInfo.startCursor': () =>
      sealed(`{ segment(id: "${w.segments.contact}") { members(first: 1) { pageInfo { startCursor } } } }`, (d) => d.segment.members.pageInfo.startCursor),
    'PageInfo.endCursor': () =>
      sealed(`{ customer(id: "${w.cid('Acme Corp')}") { members(first: 1) { pageInfo { endCursor } } } }`, (d) => d.customer.members.pageInfo.endCursor),
    'AuditPage.endCursor': () => sealed('{ auditLog(first: 1) { endCursor } }', (d) => d.auditLog.endCursor),
    // Cursor arguments
    'Query.customers(after)': customersArg.after,
    'Query.duplicatePairs(after)': duplicatePairsArg.after,
    'Query.duplicatePairs(before)': duplicatePairsArg.before,
    'Query.customers(before)': customersArg.before,
    'Query.interactions(after)': interactionsArg.after,
    'Query.interactions(before)': interactionsArg.before,
    'Customer.interactions(after)': customerInteractionsArg.after,
    'Customer.interactions(before)': customerInteractionsArg.before,
    'Customer.members(after)': orgMembersArg.after,
    'Customer.members(before)': orgMembersArg.before,
    'Query.productAudience(after)': audienceArg.after,
    'Query.productAudience(before)': audienceArg.before,
    'Query.segments(after)': segmentsArg.after,
    'Query.segments(before)': segmentsArg.before,
    'Segment.members(after)': segmentMembersArg.after,
    'Segment.members(before)': segmentMembersArg.before,
    'Query.connections(after)': connectionsArg.after,
    'Query.connections(before)': connectionsArg.before,
    'Connection.runs(after)': runsArg.after,
    'Connection.runs(before)': runsArg.before,
    'Query.alerts(after)': alertsArg.after,
    'Query.alerts(before)': alertsArg.before,
    'Customer.alerts(after)': customerAlertsArg.after,
    'Customer.alerts(before)': customerAlertsArg.before,
    'Query.auditLog(after)': async () => {
      const res = await narrow('query($c: String) { auditLog(first: 1, after: $c) { hasNextPage } }', { c: '12' });
      expect(errorOf(res)).toEqual({ code: 'INVALID_CURSOR', field: 'after' });
    },
    // Arguments that select by personal data
    'Query.customer(identifier)': byIdentifier,
    'Query.customers(filter)': () => customerFilter({ displayName: { startsWith: 'Ali' } }, 'filter.displayName'),
    'Query.customers(orderBy)': byDisplayName,
    'Query.previewSegment(rule)': () => preview(nameRule, 'rule.attribute.field'),
    'Mutation.createSegment(input)': () =>
      forbidden('mutation($i: SegmentInput!) { createSegment(input: $i) { id } }', 'input.rule.attribute.field', { i: { name: 'probe', rule: nameRule } }),
    'Mutation.updateSegment(input)': () =>
      forbidden('mutation($i: SegmentInput!) { updateSegment(id: "' + w.segments.contact + '", input: $i) { id } }', 'input.rule.attribute.field', {
        i: { name: 'probe', rule: nameRule },
      }),
    'Mutation.createAlertRule(input)': () =>
      forbidden('mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { id } }', 'input.trigger.segmentEntered.segmentId', {
        i: { name: 'probe rule', trigger: personalTrigger() },
      }),
    'Mutation.updateAlertRule(input)': () =>
      forbidden(
        `mutation($i: AlertRuleInput!) { updateAlertRule(id: "${alertIds.contactRule}", input: $i) { id } }`,
        'input.trigger.segmentEntered.segmentId',
        {
          i: { name: 'probe rule', trigger: personalTrigger() },
        },
      ),
    // Input fields that select by personal data
    'CustomerFilter.displayName': () => customerFilter({ not: { displayName: { contains: 'vic' } } }, 'filter.not.displayName'),
    'CustomerFilter.identifier': () => customerFilter({ and: [{ identifier: { type: 'email', value: VICTIM.email } }] }, 'filter.and[0].identifier'),
    'IdentifierInput.value': byIdentifier,
    'CustomerFilter.traits': () => customerFilter({ traits: [{ path: 'ssn', exists: true }] }, 'filter.traits[0].path'),
    'TraitFilter.path': () => customerFilter({ traits: [{ path: 'contact.EMAIL', contains: 'alice' }] }, 'filter.traits[0].path'),
    'TraitFilter.eq': () => customerFilter({ traits: [{ path: 'contact', eq: { email: VICTIM.email, city: 'Paris' } }] }, 'filter.traits[0].eq'),
    'TraitFilter.ne': () => customerFilter({ traits: [{ path: 'profile', ne: { first_name: 'Alice' } }] }, 'filter.traits[0].ne'),
    'TraitFilter.in': () => customerFilter({ traits: [{ path: 'contacts', in: [[{ EMAIL: VICTIM.email, kind: 'work' }]] }] }, 'filter.traits[0].in'),
    'TraitFilter.contains': async () => {
      const res = await narrow('{ customers(filter: { traits: [{ path: "contact", contains: "alice" }] }) { totalCount } }');
      expect(res.data!.customers.totalCount).toBe(0);
    },
    'CustomerOrder.field': byDisplayName,
    'CustomerOrderField.DISPLAY_NAME': byDisplayName,
    'SegmentRuleInput.attribute': () => preview({ or: [{ attribute: { field: 'traits.Ssn', op: 'EXISTS' } }] }, 'rule.or[0].attribute.field'),
    'AttributeConditionInput.field': () => preview({ not: nameRule }, 'rule.not.attribute.field'),
    'SegmentRuleInput.behavior': () => preview({ behavior: { where: [{ path: 'email', op: 'EXISTS' }], op: 'GTE', value: 1 } }, 'rule.behavior.where[0].path'),
    'BehaviorConditionInput.where': () =>
      preview(
        {
          behavior: {
            where: [
              { path: 'sku', op: 'EXISTS' },
              { path: 'phone', op: 'EXISTS' },
            ],
            op: 'GTE',
            value: 1,
          },
        },
        'rule.behavior.where[1].path',
      ),
    'PropertyConditionInput.path': () =>
      preview({ behavior: { where: [{ path: 'contact.Phone', op: 'STARTS_WITH', value: '+33' }], op: 'GTE', value: 1 } }, 'rule.behavior.where[0].path'),
    'SegmentRuleInput.inSegment': () => preview({ inSegment: w.segments.transitive }, 'rule.inSegment'),
  };

  const forbiddenScope = async (query: string) => {
    const res = await narrow(query);
    expect(res.errors![0].extensions).toEqual({ code: 'FORBIDDEN', scope: 'pii:read' });
  };

  test('there is one probe for every classification that is not impersonal, and no other', () => {
    expect(Object.keys(PROBES).sort()).toEqual(probedKeys());
  });

  test.each(probedKeys())('%s', async (key) => {
    const probe = PROBES[key];
    expect(probe).toBeDefined();
    await probe();
  });

  test('every masked field at once, and everything the probes got: no personal value of the victim', async () => {
    const res = await narrow(`{
      customer(id: "${victim()}") {
        displayName traits identifiers { value } organization { displayName }
        interactions(first: 10) { edges { node { properties } } }
        segments { name rule } segmentHistory { segment { rule } }
      }
      customers(first: 50) { edges { node { displayName traits identifiers { value } } } }
      segments(first: 50) { edges { node { name rule size } } }
      explainMembership(segmentId: "${w.segments.contact}", customerId: "${victim()}") { conditions { figure description } }
      previewSegment(rule: { attribute: { field: "traits.industry", op: EQ, value: "finance" } }) { count sample { displayName traits } }
    }`);
    expect(res.errors).toBeUndefined();
    expect(narrowResponses.length).toBeGreaterThan(probedKeys().length);
    for (const response of narrowResponses) expectNoSecrets(response);
  });
});

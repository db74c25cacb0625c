import { GraphQLError } from 'graphql';
import { selectsField } from '../../graphql/lookahead';
import { builder } from '../../graphql/builder';
import {
  BatchModeEnum,
  DateTimeFilterInput,
  FloatFilterInput,
  IdFilterInput,
  IntFilterInput,
  RowErrorRef,
  SortDirection,
  StringFilterInput,
} from '../../graphql/common.graphql';
import { forwardOnly, globalId, localId, localIdFilter, localIdOrNull } from '../../graphql/ids';
import { ErrorCode, fail } from '../../errors/catalog';
import type { GraphQLContext } from '../../graphql/context';
import { hasScope } from '../access';
import type { CustomerStatsRecord, IdentifierRecord } from '../../graphql/loaders';
import {
  CUSTOMER_ORDER_FIELDS,
  PERSONAL_ORDER_FIELDS,
  type CustomerFilter,
  type CustomerOrder,
  type CustomerRecord,
  type TraitFilter,
} from './customer-query.service';
import { CUSTOMER_LIMITS, type CustomerRow, type UpsertCustomersResult, type UpsertRowResult } from './customer.service';
import type { IdentifierInput } from './identity';
import { ScoreFilterInput, ScoreKindEnum } from '../scores';
import { ScoreRef } from '../scores';

export const CustomerKindEnum = builder.enumType('CustomerKind', {
  description: 'Whether a customer is a person or an organisation.',
  values: { PERSON: { description: 'An individual.' }, ORGANIZATION: { description: 'A company or other organisation; persons can belong to it.' } } as const,
});

export const IdentifierInputRef = builder.inputType('IdentifierInput', {
  description:
    'An identifier of a customer. `email` is lower-cased, `phone` normalised to E.164; any other type is a namespace (`shopify`, `crm`) kept as given.',
  fields: (t) => ({
    type: t.string({ required: true, description: 'email, phone, or a namespace such as shopify or crm.' }),
    value: t.string({ required: true, description: 'The identifier within its type.' }),
  }),
});

export const CustomerRefInput = builder.inputType('CustomerRefInput', {
  description: 'Names one customer: by global id, or by identifiers (matched after normalisation).',
  isOneOf: true,
  fields: (t) => ({
    id: t.id({ description: 'Global id of an existing customer.' }),
    identifiers: t.field({ type: [IdentifierInputRef], description: 'Identifiers; the customer is created when none matches (where the operation allows).' }),
  }),
});

export const IdentifierRef = builder.objectRef<IdentifierRecord>('Identifier').implement({
  description: 'A normalised identifier of a customer.',
  fields: (t) => ({
    type: t.exposeString('type', { description: 'email, phone, or a namespace.' }),
    value: t.exposeString('value', { description: 'Normalised value.' }),
    createdAt: t.field({ type: 'DateTime', description: 'When Rapport first saw it.', resolve: (i) => i.createdAt }),
  }),
});

export const CustomerStatsRef = builder.objectRef<CustomerStatsRecord>('CustomerStats').implement({
  description: 'Aggregates over a customer’s interactions, maintained asynchronously (within seconds of ingest).',
  fields: (t) => ({
    interactionCount: t.exposeInt('interactionCount', { description: 'All interactions.' }),
    firstSeenAt: t.field({ type: 'DateTime', nullable: true, description: 'Earliest interaction.', resolve: (s) => s.firstSeenAt }),
    lastSeenAt: t.field({ type: 'DateTime', nullable: true, description: 'Latest interaction.', resolve: (s) => s.lastSeenAt }),
    transactionCount: t.exposeInt('transactionCount', { description: 'Interactions of a transaction type (purchase, order).' }),
    transactionValue: t.exposeFloat('transactionValue', { description: 'Sum of the value of transactions.' }),
    channels: t.field({ type: 'JSON', description: 'Interaction count per channel, e.g. {"email": 12, "web": 40}.', resolve: (s) => s.channels }),
    updatedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When these figures were last computed; null before the first refresh.',
      resolve: (s) => s.updatedAt,
    }),
  }),
});

export const CustomerRef = builder.objectRef<CustomerRecord>('Customer');

/** One connection type for every list of customers. */
export const CustomerConnectionRef = builder.connectionObject(
  { type: CustomerRef, name: 'CustomerConnection', description: 'A page of customers (Relay connection).' },
  { name: 'CustomerEdge', description: 'A customer in a page, with its cursor.' },
);

builder.node(CustomerRef, {
  description: 'One unified customer: a person or an organisation, with identifiers from every channel.',
  id: { resolve: (c) => c.id },
  loadMany: (ids, ctx) => Promise.all(ids.map((id) => ctx.loaders.customer.load(id))),
  fields: (t) => ({
    kind: t.field({ type: CustomerKindEnum, description: 'Person or organisation.', resolve: (c) => c.kind }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'Name to show.' }),
    identifiers: t.field({
      type: [IdentifierRef],
      description: 'All identifiers, sorted by type and value.',
      resolve: (c, _a, ctx) => ctx.loaders.identifiers.load(c.id),
    }),
    traits: t.field({ type: 'JSON', description: 'Free attributes: demographics, firmographics (industry, sizeTier, riskLevel…).', resolve: (c) => c.traits }),
    lifecycleStage: t.exposeString('lifecycleStage', { nullable: true, description: 'Where the customer is in the relationship (lead, customer, churned…).' }),
    owner: t.exposeString('owner', { nullable: true, description: 'Relationship manager.' }),
    organization: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The organisation a person belongs to.',
      resolve: (c, _a, ctx) => (c.organizationId ? ctx.loaders.customer.load(c.organizationId) : null),
    }),
    members: t.connection(
      {
        type: CustomerRef,
        description: 'Persons that belong to this organisation, newest first.',
        resolve: (c, args, ctx) => ctx.loaders.memberPage(forwardOnly(args)).load(c.id),
      },
      CustomerConnectionRef,
    ),
    stats: t.field({
      type: CustomerStatsRef,
      description: 'Aggregates over the customer’s interactions.',
      resolve: (c, _a, ctx) => ctx.loaders.stats.load(c.id),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the customer was created.', resolve: (c) => c.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the profile last changed.', resolve: (c) => c.updatedAt }),
  }),
});

builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'Number of items matching the filter, across all pages.',
    resolve: (parent) => (typeof parent.totalCount === 'function' ? parent.totalCount() : parent.totalCount),
  }),
);

const KindFilterInput = builder.inputType('CustomerKindFilter', {
  description: 'Conditions on the customer kind.',
  fields: (t) => ({
    eq: t.field({ type: CustomerKindEnum, description: 'Equal to.' }),
    in: t.field({ type: [CustomerKindEnum], description: 'One of.' }),
  }),
});

const TraitFilterInput = builder.inputRef<TraitFilter>('TraitFilter').implement({
  description:
    'Conditions on one trait addressed by a dot path (`industry`, `address.city`); all given conditions must hold. Paths through a personal trait (RAPPORT_PERSONAL_TRAITS, at any depth, any case) need pii:read.',
  fields: (t) => ({
    path: t.string({ required: true, description: 'Dot-separated path into traits.' }),
    eq: t.field({ type: 'JSON', description: 'Equal to this JSON value.' }),
    ne: t.field({ type: 'JSON', description: 'Not equal to this JSON value (missing counts as different).' }),
    in: t.field({ type: ['JSON'], description: 'Equal to one of these JSON values.' }),
    gt: t.float({ description: 'A number greater than.' }),
    gte: t.float({ description: 'A number greater than or equal to.' }),
    lt: t.float({ description: 'A number less than.' }),
    lte: t.float({ description: 'A number less than or equal to.' }),
    contains: t.string({ description: 'A string, number or boolean whose text contains this, case-insensitive (objects and lists never match).' }),
    exists: t.boolean({ description: 'True: the trait is present; false: absent.' }),
  }),
});

export const CustomerFilterRef = builder.inputRef<CustomerFilter>('CustomerFilter').implement({
  description: 'Typed filter over customers: every given field must match; combine with and, or, not.',
  fields: (t) => ({
    and: t.field({ type: [CustomerFilterRef], description: 'All of these.' }),
    or: t.field({ type: [CustomerFilterRef], description: 'Any of these.' }),
    not: t.field({ type: CustomerFilterRef, description: 'Not this.' }),
    id: t.field({ type: IdFilterInput, description: 'Customer global id.' }),
    kind: t.field({ type: KindFilterInput, description: 'Person or organisation.' }),
    displayName: t.field({ type: StringFilterInput, description: 'Display name (needs pii:read).' }),
    lifecycleStage: t.field({ type: StringFilterInput, description: 'Lifecycle stage.' }),
    owner: t.field({ type: StringFilterInput, description: 'Relationship manager.' }),
    organizationId: t.field({ type: IdFilterInput, description: 'Global id of the organisation.' }),
    createdAt: t.field({ type: DateTimeFilterInput, description: 'Creation time.' }),
    updatedAt: t.field({ type: DateTimeFilterInput, description: 'Last profile change.' }),
    identifier: t.field({ type: IdentifierInputRef, description: 'Has this identifier (normalised before matching; needs pii:read).' }),
    traits: t.field({ type: [TraitFilterInput], description: 'Conditions on traits; all must hold.' }),
    interactionCount: t.field({ type: IntFilterInput, description: 'Number of interactions.' }),
    transactionCount: t.field({ type: IntFilterInput, description: 'Number of transactions.' }),
    transactionValue: t.field({ type: FloatFilterInput, description: 'Total transaction value.' }),
    lastSeenAt: t.field({ type: DateTimeFilterInput, description: 'Latest interaction.' }),
    score: t.field({ type: ScoreFilterInput, description: 'A condition on one kind of score (value, label).' }),
  }),
});

const CustomerOrderFieldEnum = builder.enumType('CustomerOrderField', {
  description: 'What customers can be ordered by.',
  values: Object.fromEntries(
    CUSTOMER_ORDER_FIELDS.map((f) => [
      f,
      { description: `Order by ${f.toLowerCase().replace(/_/g, ' ')}${PERSONAL_ORDER_FIELDS.has(f) ? ' (needs pii:read: the order tells the values)' : ''}.` },
    ]),
  ) as Record<(typeof CUSTOMER_ORDER_FIELDS)[number], { description: string }>,
});

const CustomerOrderInput = builder.inputType('CustomerOrder', {
  description: 'One ordering key; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: CustomerOrderFieldEnum, required: true, description: 'The key.' }),
    direction: t.field({ type: SortDirection, defaultValue: 'ASC', description: 'Direction; ASC by default.' }),
    scoreKind: t.field({ type: ScoreKindEnum, description: 'With field SCORE: which score to order by (customers without it come last when descending).' }),
  }),
});

/**
 * Finding customers by personal data is reading it: without pii:read, filters
 * on identifiers, names and personal traits (at any depth, see
 * personal-data.ts) are refused, and so is comparing a trait with a JSON
 * value that names a personal key (`contact` equal to `{"email": …}`).
 */
function checkPersonalFilter(filter: CustomerFilter, path: string, ctx: GraphQLContext): void {
  if (hasScope(ctx.principal, 'pii:read')) return;
  const refuse = (field: string, what: string) => {
    throw fail('FORBIDDEN', { detail: `filtering on ${what} requires the scope pii:read` }, field);
  };
  if (filter.identifier) refuse(`${path}.identifier`, 'identifiers');
  if (filter.displayName) refuse(`${path}.displayName`, 'displayName');
  const traits = ctx.personalData.traits;
  for (const [i, t] of (filter.traits ?? []).entries()) {
    if (traits.isPersonalPath(t.path)) refuse(`${path}.traits[${i}].path`, `traits.${t.path}`);
    for (const op of ['eq', 'ne', 'in'] as const) {
      if (t[op] != null && traits.holdsPersonalKey(t[op])) refuse(`${path}.traits[${i}].${op}`, `a value naming a personal trait (traits.${t.path})`);
    }
  }
}

/** Ordering by personal data leaks it by position: without pii:read such orderings are refused. */
function checkPersonalOrder(orderBy: readonly CustomerOrder[] | null | undefined, ctx: GraphQLContext): void {
  if (!orderBy || hasScope(ctx.principal, 'pii:read')) return;
  for (const [i, o] of orderBy.entries()) {
    if (PERSONAL_ORDER_FIELDS.has(o.field)) {
      throw fail('FORBIDDEN', { detail: `ordering by ${o.field} requires the scope pii:read` }, `orderBy[${i}].field`);
    }
  }
}

/** Global ids inside a customer filter tree become database ids. */
function toServiceFilter(filter: CustomerFilter, ctx: GraphQLContext, path?: string): CustomerFilter;
function toServiceFilter(filter: CustomerFilter | null | undefined, ctx: GraphQLContext, path?: string): CustomerFilter | undefined;
function toServiceFilter(filter: CustomerFilter | null | undefined, ctx: GraphQLContext, path = 'filter'): CustomerFilter | undefined {
  if (!filter) return undefined;
  checkPersonalFilter(filter, path, ctx);
  return {
    ...filter,
    id: localIdFilter(filter.id, 'Customer', `${path}.id`),
    organizationId: localIdFilter(filter.organizationId, 'Customer', `${path}.organizationId`),
    traits: filter.traits as TraitFilter[] | undefined,
    and: filter.and?.map((f, i) => toServiceFilter(f, ctx, `${path}.and[${i}]`)),
    or: filter.or?.map((f, i) => toServiceFilter(f, ctx, `${path}.or[${i}]`)),
    not: filter.not ? toServiceFilter(filter.not, ctx, `${path}.not`) : undefined,
  };
}

builder.queryFields((t) => ({
  customer: t.field({
    type: CustomerRef,
    nullable: true,
    description: 'One customer, by global id or by identifier; null when none matches.',
    args: {
      id: t.arg.id({ description: 'Global id.' }),
      identifier: t.arg({ type: IdentifierInputRef, description: 'An identifier (normalised before matching).' }),
    },
    resolve: async (_root, args, ctx) => {
      if ((args.id == null) === (args.identifier == null)) {
        throw new GraphQLError('give exactly one of id or identifier', { extensions: { code: ErrorCode.BAD_REQUEST } });
      }
      if (args.id != null) {
        const id = localIdOrNull(String(args.id), 'Customer');
        return id ? ctx.loaders.customer.load(id) : null;
      }
      if (!hasScope(ctx.principal, 'pii:read')) {
        throw fail('FORBIDDEN', { detail: 'looking a customer up by identifier requires the scope pii:read' }, 'identifier');
      }
      return ctx.servicesOf('customers').customerQueries.findByIdentifier(args.identifier as IdentifierInput);
    },
  }),
  customers: t.connection(
    {
      type: CustomerRef,
      description: 'Customers matching a filter, in a stable order (newest first by default). Page size 50 by default, 500 at most.',
      args: {
        filter: t.arg({ type: CustomerFilterRef, description: 'Which customers.' }),
        orderBy: t.arg({ type: [CustomerOrderInput], description: 'Ordering keys; default createdAt descending.' }),
      },
      resolve: async (_root, args, ctx, info) => {
        checkPersonalOrder(args.orderBy as CustomerOrder[] | undefined, ctx);
        const withStats = selectsField(info.fieldNodes, info.fragments, ['edges', 'node', 'stats']);
        const page = await ctx.servicesOf('customers').customerQueries.list({
          ...forwardOnly(args),
          filter: toServiceFilter(args.filter, ctx),
          orderBy: args.orderBy as CustomerOrder[] | undefined,
          withStats,
        });
        if (page.stats) ctx.loaders.primeStats(page.stats);
        return page;
      },
    },
    CustomerConnectionRef,
  ),
}));

const CustomerInputRef = builder.inputType('CustomerInput', {
  description: 'A customer to create or update, matched by identifiers. Omitted fields keep their stored value.',
  fields: (t) => ({
    identifiers: t.field({ type: [IdentifierInputRef], required: true, description: 'At least one; new ones are added to the matched customer.' }),
    kind: t.field({ type: CustomerKindEnum, description: 'Person (default for new customers) or organisation.' }),
    displayName: t.string({ description: 'Name to show (at most 256 characters).' }),
    traits: t.field({ type: 'JSON', description: 'Merged into stored traits key by key (a JSON object, at most 32 KiB).' }),
    lifecycleStage: t.string({ description: 'Lifecycle stage.' }),
    owner: t.string({ description: 'Relationship manager.' }),
    organization: t.field({
      type: CustomerRefInput,
      description: 'The organisation this person belongs to; created as an ORGANIZATION when identifiers match nothing.',
    }),
  }),
});

const UpsertStatusEnum = builder.enumType('UpsertStatus', {
  description: 'Outcome of one upserted row.',
  values: {
    CREATED: { description: 'A new customer was created (shown only to callers with pii:read).' },
    UPDATED: { description: 'An existing customer matched and was updated (shown only to callers with pii:read).' },
    REJECTED: { description: 'Not written; see errors.' },
    WRITTEN: {
      description:
        'Written: created, or matched and updated. Callers without pii:read see this instead of CREATED or UPDATED, so a write never confirms that the identifiers belong to an existing customer.',
    },
  } as const,
});

const UpsertCustomerResultRef = builder.objectRef<UpsertRowResult>('UpsertCustomerResult').implement({
  description: 'Result for one row of upsertCustomers.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position of the row in the input.' }),
    status: t.field({ type: UpsertStatusEnum, description: 'What happened.', resolve: (r) => r.status }),
    customer: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The customer written; null for callers without pii:read (its id would tell a matched customer from a new one).',
      resolve: (r, _a, ctx) => (r.customerId ? ctx.loaders.customer.load(r.customerId) : null),
    }),
    error: t.field({ type: RowErrorRef, nullable: true, description: 'The first error, when rejected.', resolve: (r) => r.errors[0] ?? null }),
    errors: t.field({ type: [RowErrorRef], description: 'Every error of the row.', resolve: (r) => r.errors }),
  }),
});

type UpsertCustomersView = Omit<UpsertCustomersResult, 'created' | 'updated'> & { created: number | null; updated: number | null; written: number };

/**
 * The payload as the caller may see it. Without pii:read a write must not
 * confirm who exists: rows written are WRITTEN whether they created or
 * matched a customer, with no customer (a matched customer's id is older
 * than a new one's) and no created/updated split. Rejections keep their
 * codes; their messages name no customer.
 */
function withoutIdentity(result: UpsertCustomersResult, mayKnow: boolean): UpsertCustomersView {
  const written = result.created + result.updated;
  if (mayKnow) return { ...result, written };
  return {
    committed: result.committed,
    created: null,
    updated: null,
    written,
    rejected: result.rejected,
    results: result.results.map((r) => (r.status === 'REJECTED' ? r : { index: r.index, status: 'WRITTEN', errors: r.errors })),
  };
}

const UpsertCustomersPayloadRef = builder.objectRef<UpsertCustomersView>('UpsertCustomersPayload').implement({
  description: 'Outcome of upsertCustomers, with one result per input row.',
  fields: (t) => ({
    committed: t.exposeBoolean('committed', { description: 'False when an ATOMIC batch was rejected and nothing was written.' }),
    created: t.exposeInt('created', { nullable: true, description: 'Rows that created a customer; null for callers without pii:read.' }),
    updated: t.exposeInt('updated', { nullable: true, description: 'Rows that updated a customer; null for callers without pii:read.' }),
    written: t.exposeInt('written', { description: 'Rows written: created plus updated.' }),
    rejected: t.exposeInt('rejected', { description: 'Rows not written.' }),
    results: t.field({ type: [UpsertCustomerResultRef], description: 'One per input row, in input order.', resolve: (p) => p.results }),
  }),
});

builder.mutationFields((t) => ({
  upsertCustomers: t.field({
    type: UpsertCustomersPayloadRef,
    description: `Creates or updates up to ${CUSTOMER_LIMITS.maxCustomersPerBatch} customers matched by identifiers, with one result per row.`,
    args: {
      input: t.arg({ type: [CustomerInputRef], required: true, description: 'The customers.' }),
      mode: t.arg({ type: BatchModeEnum, defaultValue: 'ATOMIC', description: 'ATOMIC (default) or PER_ROW.' }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.input.length > CUSTOMER_LIMITS.maxCustomersPerBatch) {
        throw new GraphQLError(`input has ${args.input.length} rows; the limit is ${CUSTOMER_LIMITS.maxCustomersPerBatch}`, {
          extensions: { code: ErrorCode.BATCH_TOO_LARGE, field: 'input' },
        });
      }
      const rows: CustomerRow[] = args.input.map((row) => ({
        ...row,
        kind: row.kind ?? undefined,
        traits: row.traits as Record<string, unknown> | null | undefined,
        organization: row.organization
          ? {
              id: row.organization.id != null ? (localIdOrNull(String(row.organization.id), 'Customer') ?? 'invalid') : undefined,
              identifiers: row.organization.identifiers ?? undefined,
            }
          : undefined,
      }));
      const result = await ctx.servicesOf('customers').customers.upsertCustomers(rows, args.mode ?? 'ATOMIC');
      return withoutIdentity(result, hasScope(ctx.principal, 'pii:read'));
    },
  }),
}));

export { globalId, localId };

// A customer's scores: the scores module's types, read through its loaders.
builder.objectFields(CustomerRef, (t) => ({
  scores: t.field({
    type: [ScoreRef],
    description: 'Every current score of the customer, by kind.',
    resolve: (c, _a, ctx) => ctx.scoreLoaders.scores.load(c.id),
  }),
  score: t.field({
    type: ScoreRef,
    nullable: true,
    description: 'The customer’s score of one kind; null when not computed (e.g. no transactions for RFM and CLV).',
    args: { kind: t.arg({ type: ScoreKindEnum, required: true, description: 'Which score.' }) },
    resolve: async (c, args, ctx) => (await ctx.scoreLoaders.scores.load(c.id)).find((s) => s.kind === args.kind) ?? null,
  }),
}));

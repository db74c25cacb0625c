import { GraphQLError } from 'graphql';
import { builder } from '../../graphql/builder';
import { hasScope } from '../access';
import {
  BatchModeEnum,
  DateTimeFilterInput,
  FloatFilterInput,
  IdFilterInput,
  RowErrorRef,
  SortDirection,
  StringFilterInput,
} from '../../graphql/common.graphql';
import { forwardOnly, globalId, localIdFilter, localIdOrNull } from '../../graphql/ids';
import { ErrorCode } from '../../errors/catalog';
import type { RowError } from '../../errors/row-error';
import { CustomerKindEnum, CustomerRef, CustomerRefInput } from '../customers';
import { INGEST_LIMITS, interactionRow, type InteractionRowResult, type RecordInteractionsResult } from './ingest.service';
import { INTERACTION_ORDER_FIELDS, type InteractionFilter, type InteractionOrder, type InteractionRecord } from './interaction-query.service';
import { present } from '../../infra/present';

export const DirectionEnum = builder.enumType('Direction', {
  description: 'Who started an interaction.',
  values: { INBOUND: { description: 'The customer reached out.' }, OUTBOUND: { description: 'The business reached out.' } } as const,
});

export const InteractionRef = builder.objectRef<InteractionRecord>('Interaction');

/** One connection type for every list of interactions. */
export const InteractionConnectionRef = builder.connectionObject(
  { type: InteractionRef, name: 'InteractionConnection', description: 'A page of interactions (Relay connection).' },
  { name: 'InteractionEdge', description: 'An interaction in a page, with its cursor.' },
);

builder.node(InteractionRef, {
  description: 'One thing that happened between a customer and the business, on one channel.',
  id: { resolve: (i) => i.id },
  loadMany: (ids, ctx) => Promise.all(ids.map((id) => ctx.loaders.interaction.load(id))),
  fields: (t) => ({
    customer: t.field({
      type: CustomerRef,
      description: 'Whose interaction it is.',
      resolve: async (i, _a, ctx) => present(await ctx.loaders.customer.load(i.customerId), `customer ${i.customerId} of interaction ${i.id}`),
    }),
    channel: t.exposeString('channel', { description: 'email, web, phone, support, payment, social, in_person, …' }),
    type: t.exposeString('type', { description: 'purchase, open, click, ticket_opened, call, …' }),
    direction: t.field({ type: DirectionEnum, nullable: true, description: 'Inbound or outbound, when known.', resolve: (i) => i.direction }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (i) => i.occurredAt }),
    value: t.exposeFloat('value', { nullable: true, description: 'Monetary value (purchases, payments).' }),
    currency: t.exposeString('currency', { nullable: true, description: 'ISO 4217 code of value.' }),
    sentiment: t.exposeFloat('sentiment', { nullable: true, description: 'From −1 (negative) to 1 (positive), when known.' }),
    properties: t.field({ type: 'JSON', description: 'Channel-specific details.', resolve: (i) => i.properties }),
    source: t.exposeString('source', { description: 'The system that delivered it (connector or tool).' }),
    externalId: t.exposeString('externalId', { description: 'Its id in the source; (source, externalId) is unique.' }),
    createdAt: t.field({ type: 'DateTime', description: 'When Rapport stored it.', resolve: (i) => i.createdAt }),
  }),
});

const DirectionFilterInput = builder.inputType('DirectionFilter', {
  description: 'Conditions on direction.',
  fields: (t) => ({ eq: t.field({ type: DirectionEnum, description: 'Equal to.' }) }),
});

export const InteractionFilterRef = builder.inputRef<InteractionFilter>('InteractionFilter').implement({
  description: 'Typed filter over interactions: every given field must match; combine with and, or, not.',
  fields: (t) => ({
    and: t.field({ type: [InteractionFilterRef], description: 'All of these.' }),
    or: t.field({ type: [InteractionFilterRef], description: 'Any of these.' }),
    not: t.field({ type: InteractionFilterRef, description: 'Not this.' }),
    id: t.field({ type: IdFilterInput, description: 'Interaction global id.' }),
    customerId: t.field({ type: IdFilterInput, description: 'Customer global id.' }),
    channel: t.field({ type: StringFilterInput, description: 'Channel.' }),
    type: t.field({ type: StringFilterInput, description: 'Type.' }),
    direction: t.field({ type: DirectionFilterInput, description: 'Direction.' }),
    source: t.field({ type: StringFilterInput, description: 'Source system.' }),
    externalId: t.field({ type: StringFilterInput, description: 'Id in the source.' }),
    occurredAt: t.field({ type: DateTimeFilterInput, description: 'When it happened.' }),
    value: t.field({ type: FloatFilterInput, description: 'Monetary value.' }),
  }),
});

const InteractionOrderFieldEnum = builder.enumType('InteractionOrderField', {
  description: 'What interactions can be ordered by.',
  values: Object.fromEntries(INTERACTION_ORDER_FIELDS.map((f) => [f, { description: `Order by ${f.toLowerCase().replace(/_/g, ' ')}.` }])) as Record<
    (typeof INTERACTION_ORDER_FIELDS)[number],
    { description: string }
  >,
});

const InteractionOrderInput = builder.inputType('InteractionOrder', {
  description: 'One ordering key; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: InteractionOrderFieldEnum, required: true, description: 'The key.' }),
    direction: t.field({ type: SortDirection, defaultValue: 'ASC', description: 'Direction; ASC by default.' }),
  }),
});

function toServiceFilter(filter: InteractionFilter, path?: string): InteractionFilter;
function toServiceFilter(filter: InteractionFilter | null | undefined, path?: string): InteractionFilter | undefined;
function toServiceFilter(filter: InteractionFilter | null | undefined, path = 'filter'): InteractionFilter | undefined {
  if (!filter) return undefined;
  return {
    ...filter,
    id: localIdFilter(filter.id, 'Interaction', `${path}.id`),
    customerId: localIdFilter(filter.customerId, 'Customer', `${path}.customerId`),
    and: filter.and?.map((f, i) => toServiceFilter(f, `${path}.and[${i}]`)),
    or: filter.or?.map((f, i) => toServiceFilter(f, `${path}.or[${i}]`)),
    not: filter.not ? toServiceFilter(filter.not, `${path}.not`) : undefined,
  };
}

builder.objectField(CustomerRef, 'interactions', (t) =>
  t.connection(
    {
      type: InteractionRef,
      description: 'The customer’s interactions, newest first by default; batched across customers of a page.',
      args: {
        filter: t.arg({ type: InteractionFilterRef, description: 'Which interactions.' }),
        orderBy: t.arg({ type: [InteractionOrderInput], description: 'Ordering keys; default occurredAt descending.' }),
      },
      resolve: async (customer, args, ctx) => {
        const filter = toServiceFilter(args.filter);
        const page = await ctx.loaders
          .interactionPage({ ...forwardOnly(args), filter, orderBy: args.orderBy as InteractionOrder[] | undefined })
          .load(customer.id);
        return { ...page, totalCount: () => ctx.loaders.interactionCount(filter).load(customer.id) };
      },
    },
    InteractionConnectionRef,
  ),
);

builder.queryField('interactions', (t) =>
  t.connection(
    {
      type: InteractionRef,
      description: 'Interactions across all customers, newest first by default. Page size 50 by default, 500 at most.',
      args: {
        filter: t.arg({ type: InteractionFilterRef, description: 'Which interactions.' }),
        orderBy: t.arg({ type: [InteractionOrderInput], description: 'Ordering keys; default occurredAt descending.' }),
      },
      resolve: (_root, args, ctx) =>
        ctx.servicesOf('interactions').interactionQueries.list({
          ...forwardOnly(args),
          filter: toServiceFilter(args.filter),
          orderBy: args.orderBy as InteractionOrder[] | undefined,
        }),
    },
    InteractionConnectionRef,
  ),
);

const CustomerProfileInput = builder.inputType('CustomerProfileInput', {
  description: 'Profile for a customer that an interaction creates (used only when its identifiers match nobody).',
  fields: (t) => ({
    kind: t.field({ type: CustomerKindEnum, description: 'Person (default) or organisation.' }),
    displayName: t.string({ description: 'Name to show.' }),
    traits: t.field({ type: 'JSON', description: 'Initial traits.' }),
    lifecycleStage: t.string({ description: 'Lifecycle stage.' }),
    owner: t.string({ description: 'Relationship manager.' }),
  }),
});

const InteractionInputRef = builder.inputType('InteractionInput', {
  description: 'One interaction to record. (source, externalId) makes it idempotent: sending it again changes nothing.',
  fields: (t) => ({
    customer: t.field({ type: CustomerRefInput, required: true, description: 'Whose interaction: by id, or by identifiers (created when none matches).' }),
    customerProfile: t.field({ type: CustomerProfileInput, description: 'Profile used if the customer is created.' }),
    channel: t.string({ required: true, description: 'Lower-case channel name: email, web, phone, support, payment, social, in_person, …' }),
    type: t.string({ required: true, description: 'Lower-case type: purchase, open, click, ticket_opened, call, …' }),
    occurredAt: t.field({ type: 'DateTime', required: true, description: 'When it happened; at most 5 minutes in the future.' }),
    value: t.float({ description: 'Monetary value.' }),
    currency: t.string({ description: 'ISO 4217 code, e.g. EUR.' }),
    direction: t.field({ type: DirectionEnum, description: 'Inbound or outbound.' }),
    sentiment: t.float({ description: 'From −1 to 1.' }),
    properties: t.field({ type: 'JSON', description: 'Channel-specific details (a JSON object, at most 16 KiB).' }),
    source: t.string({ required: true, description: 'The delivering system (at most 128 characters).' }),
    externalId: t.string({ required: true, description: 'Id in the source (at most 256 characters).' }),
  }),
});

const RowStatusEnum = builder.enumType('RowStatus', {
  description: 'Outcome of one row of a batch.',
  values: {
    ACCEPTED: { description: 'Written.' },
    DUPLICATE: { description: 'Already stored (same source and externalId); nothing changed.' },
    REJECTED: { description: 'Not written; see errors.' },
  } as const,
});

/** One row's result as the API shows it: ids already global, so every field is a plain property. */
interface RowResultView {
  index: number;
  status: InteractionRowResult['status'];
  id: string | null;
  customerId: string | null;
  error: RowError | null;
  errors: RowError[];
}

// Exposed fields only: the compiled batch path reads them as properties, with no resolver call per row and field.
const RowResultRef = builder.objectRef<RowResultView>('RowResult').implement({
  description: 'Result for one row of recordInteractions.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position of the row in the input.' }),
    status: t.expose('status', { type: RowStatusEnum, description: 'What happened.' }),
    id: t.exposeID('id', { nullable: true, description: 'Global id of the stored interaction (for duplicates, the one already stored).' }),
    customerId: t.exposeID('customerId', {
      nullable: true,
      description:
        'Global id of the customer. Null for callers without pii:read when the row named the customer by identifiers: the id would tell a matched customer from a new one.',
    }),
    error: t.expose('error', { type: RowErrorRef, nullable: true, description: 'The first error, when rejected.' }),
    errors: t.expose('errors', { type: [RowErrorRef], description: 'Every error of the row.' }),
  }),
});

type RecordInteractionsView = Omit<RecordInteractionsResult, 'results'> & { results: RowResultView[] };

const RecordInteractionsPayloadRef = builder.objectRef<RecordInteractionsView>('RecordInteractionsPayload').implement({
  description: 'Outcome of recordInteractions, with one result per input row.',
  fields: (t) => ({
    committed: t.exposeBoolean('committed', { description: 'False when an ATOMIC batch was rejected and nothing was written.' }),
    accepted: t.exposeInt('accepted', { description: 'Rows written.' }),
    duplicates: t.exposeInt('duplicates', { description: 'Rows already stored.' }),
    rejected: t.exposeInt('rejected', { description: 'Rows not written.' }),
    results: t.expose('results', { type: [RowResultRef], description: 'One per input row, in input order.' }),
  }),
});

/** `byIdentifiers[i]`: row i named its customer by identifiers, and its customer id is hidden (`hideIdentified`). */
function toView(result: RecordInteractionsResult, byIdentifiers: boolean[], hideIdentified: boolean): RecordInteractionsView {
  return {
    committed: result.committed,
    accepted: result.accepted,
    duplicates: result.duplicates,
    rejected: result.rejected,
    results: result.results.map((r) => ({
      index: r.index,
      status: r.status,
      id: r.interactionId ? globalId('Interaction', r.interactionId) : null,
      customerId: r.customerId && !(hideIdentified && byIdentifiers[r.index]) ? globalId('Customer', r.customerId) : null,
      error: r.errors[0] ?? null,
      errors: r.errors,
    })),
  };
}

builder.mutationField('recordInteractions', (t) =>
  t.field({
    type: RecordInteractionsPayloadRef,
    description: `Records up to ${INGEST_LIMITS.maxInteractionsPerBatch} interactions. Idempotent on (source, externalId); customers are resolved by identifiers and created when none matches.`,
    args: {
      input: t.arg({ type: [InteractionInputRef], required: true, description: 'The interactions.' }),
      mode: t.arg({ type: BatchModeEnum, defaultValue: 'ATOMIC', description: 'ATOMIC (default): all or nothing. PER_ROW: write the valid rows.' }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.input.length > INGEST_LIMITS.maxInteractionsPerBatch) {
        throw new GraphQLError(`input has ${args.input.length} rows; the limit is ${INGEST_LIMITS.maxInteractionsPerBatch}`, {
          extensions: { code: ErrorCode.BATCH_TOO_LARGE, field: 'input' },
        });
      }
      const rows = args.input.map((row) =>
        interactionRow(
          {
            id: row.customer.id != null ? (localIdOrNull(String(row.customer.id), 'Customer') ?? String(row.customer.id)) : undefined,
            identifiers: row.customer.identifiers ?? undefined,
          },
          row.source,
          row,
          row.customerProfile
            ? {
                ...row.customerProfile,
                kind: row.customerProfile.kind ?? undefined,
                traits: row.customerProfile.traits as Record<string, unknown> | null | undefined,
              }
            : undefined,
        ),
      );
      const result = await ctx.servicesOf('interactions').ingest.recordInteractions(rows, args.mode ?? 'ATOMIC');
      return toView(
        result,
        args.input.map((row) => row.customer.id == null),
        !hasScope(ctx.principal, 'pii:read'),
      );
    },
  }),
);

import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { builder } from '../../graphql/builder';
import { BatchModeEnum, RowErrorRef } from '../../graphql/common.graphql';
import { localId, localIdOrNull } from '../../graphql/ids';
import { ErrorCode } from '../../errors/catalog';
import { auditRecords } from '../access';
import { CustomerRef, CustomerRefInput, IdentifierInputRef } from '../customers';
import type { GraphQLContext } from '../../graphql/context';
import { hasScope } from '../access';
import { CONSENT_STATUSES } from '../segments';
import type { ConsentRecord, ErasureReceipt } from './privacy.service';

const MAX_CONSENTS_PER_BATCH = 1000;

const ConsentStatusEnum = builder.enumType('ConsentStatus', {
  description: 'A customer’s decision for one purpose and channel.',
  values: Object.fromEntries(CONSENT_STATUSES.map((s) => [s, { description: `Consent ${s.toLowerCase()}.` }])) as Record<
    (typeof CONSENT_STATUSES)[number],
    { description: string }
  >,
});

const ConsentRef = builder.objectRef<ConsentRecord>('Consent').implement({
  description: 'The current consent of a customer for a purpose on a channel.',
  fields: (t) => ({
    purpose: t.exposeString('purpose', { description: 'What the data is used for, e.g. marketing, analytics.' }),
    channel: t.exposeString('channel', { description: 'Channel it applies to; `*` for every channel.' }),
    status: t.field({ type: ConsentStatusEnum, description: 'Granted, denied or withdrawn.', resolve: (c) => c.status }),
    source: t.exposeString('source', { description: 'Where the decision was recorded (form, connector, support).' }),
    recordedAt: t.field({ type: 'DateTime', description: 'When the customer decided.', resolve: (c) => c.recordedAt }),
  }),
});

const consentLoaders = new WeakMap<GraphQLContext, DataLoader<string, ConsentRecord[]>>();
function consentLoader(ctx: GraphQLContext) {
  let loader = consentLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((ids) => ctx.servicesOf('privacy').privacy.consentsOf(ids));
    consentLoaders.set(ctx, loader);
  }
  return loader;
}

builder.objectField(CustomerRef, 'consents', (t) =>
  t.field({ type: [ConsentRef], description: 'Consents per purpose and channel.', resolve: (c, _a, ctx) => consentLoader(ctx).load(c.id) }),
);

const ConsentInputRef = builder.inputType('ConsentInput', {
  description: 'A consent decision to record; an older decision never overwrites a newer one.',
  fields: (t) => ({
    customer: t.field({ type: CustomerRefInput, required: true, description: 'Whose consent (an existing customer).' }),
    purpose: t.string({ required: true, description: 'What for, e.g. marketing.' }),
    channel: t.string({ defaultValue: '*', description: 'Which channel; `*` (default) for all.' }),
    status: t.field({ type: ConsentStatusEnum, required: true, description: 'The decision.' }),
    source: t.string({ required: true, description: 'Where it was recorded.' }),
    recordedAt: t.field({ type: 'DateTime', description: 'When the customer decided; now by default.' }),
  }),
});

const ConsentResultRef = builder
  .objectRef<{ index: number; status: string; errors: { code: string; field?: string; message: string }[] }>('ConsentResult')
  .implement({
    description: 'Result for one consent row.',
    fields: (t) => ({
      index: t.exposeInt('index', { description: 'Position in the input.' }),
      status: t.exposeString('status', { description: 'ACCEPTED or REJECTED.' }),
      errors: t.field({ type: [RowErrorRef], description: 'Why it was rejected.', resolve: (r) => r.errors }),
    }),
  });

const SetConsentsPayloadRef = builder
  .objectRef<{ committed: boolean; results: { index: number; status: string; errors: { code: string; message: string }[] }[] }>('SetConsentsPayload')
  .implement({
    description: 'Outcome of setConsents.',
    fields: (t) => ({
      committed: t.exposeBoolean('committed', { description: 'False when an ATOMIC batch was rejected.' }),
      results: t.field({ type: [ConsentResultRef], description: 'One per input row.', resolve: (p) => p.results }),
    }),
  });

const ErasureTableCountRef = builder.objectRef<{ table: string; rows: number }>('ErasureTableCount').implement({
  description: 'Rows removed from one table.',
  fields: (t) => ({
    table: t.exposeString('table', { description: 'Table name.' }),
    rows: t.exposeInt('rows', { description: 'Rows removed (or changed).' }),
  }),
});

const ErasureReceiptRef = builder.objectRef<ErasureReceipt>('ErasureReceipt').implement({
  description: 'Proof of an erasure: what was removed, where.',
  fields: (t) => ({
    customerId: t.id({ description: 'Global id the customer had.', resolve: (r) => Buffer.from(`Customer:${r.customerId}`).toString('base64') }),
    erasedAt: t.field({ type: 'DateTime', description: 'When.', resolve: (r) => r.erasedAt }),
    tables: t.field({ type: [ErasureTableCountRef], description: 'Rows removed per table.', resolve: (r) => r.tables }),
    tombstones: t.exposeInt('tombstones', { description: 'Identifiers kept only as hashes so they are not silently re-created.' }),
  }),
});

builder.queryField('exportCustomer', (t) =>
  t.field({
    type: 'JSON',
    description: 'Everything Rapport holds about a customer as one JSON document (pii:read).',
    args: { id: t.arg.id({ required: true, description: 'Global id of the customer.' }) },
    resolve: (_r, args, ctx) => {
      const customerId = localId(String(args.id), 'Customer', 'id');
      // The audit entry names the exported customer, however the id was given (variable or inline).
      auditRecords('customer', [customerId]);
      return ctx.servicesOf('privacy').privacy.exportCustomer(customerId);
    },
  }),
);

builder.mutationFields((t) => ({
  setConsents: t.field({
    type: SetConsentsPayloadRef,
    description:
      `Records up to ${MAX_CONSENTS_PER_BATCH} consent decisions, one result per row. A customer named by identifiers that match nobody is CUSTOMER_NOT_FOUND for callers ` +
      'with pii:read; for callers without it, the customer is created with those identifiers and the decision recorded, so the answer never reveals whether they belonged to someone.',
    args: {
      input: t.arg({ type: [ConsentInputRef], required: true, description: 'The decisions.' }),
      mode: t.arg({ type: BatchModeEnum, defaultValue: 'ATOMIC', description: 'ATOMIC (default) or PER_ROW.' }),
    },
    resolve: (_r, args, ctx) => {
      if (args.input.length > MAX_CONSENTS_PER_BATCH) {
        throw new GraphQLError(`input has ${args.input.length} rows; the limit is ${MAX_CONSENTS_PER_BATCH}`, {
          extensions: { code: ErrorCode.BATCH_TOO_LARGE },
        });
      }
      return ctx.servicesOf('privacy').privacy.setConsents(
        args.input.map((row) => ({
          ...row,
          customer: {
            id: row.customer.id != null ? (localIdOrNull(String(row.customer.id), 'Customer') ?? String(row.customer.id)) : undefined,
            identifiers: row.customer.identifiers ?? undefined,
          },
        })),
        args.mode ?? 'ATOMIC',
        // Without pii:read the answer must not tell whether the identifiers belong to someone (see setConsents).
        { createMissing: !hasScope(ctx.principal, 'pii:read') },
      );
    },
  }),
  eraseCustomer: t.field({
    type: ErasureReceiptRef,
    description: 'Erases a customer’s personal data everywhere in one transaction and tombstones its identifiers (admin).',
    args: { id: t.arg.id({ required: true, description: 'Global id of the customer.' }) },
    resolve: (_r, args, ctx) => ctx.servicesOf('privacy').privacy.eraseCustomer(localId(String(args.id), 'Customer', 'id')),
  }),
  liftErasureTombstone: t.boolean({
    description: 'Lets an erased identifier be used again after a fresh consent (admin); true when a tombstone was removed.',
    args: { identifier: t.arg({ type: IdentifierInputRef, required: true, description: 'The identifier.' }) },
    resolve: (_r, args, ctx) => ctx.servicesOf('privacy').privacy.liftTombstone(args.identifier),
  }),
}));

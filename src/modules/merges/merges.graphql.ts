import { builder } from '../../graphql/builder';
import { globalId, localId } from '../../graphql/ids';
import { fail } from '../../errors/catalog';
import { CustomerRef } from '../customers';
import type { IdentitySettings } from './identity-policy.service';
import type { MergeRecord } from './merge.service';

const CustomerMergeRef = builder.objectRef<MergeRecord>('CustomerMerge').implement({
  description: 'One merge of customers into a survivor; `unmergeCustomer` undoes it.',
  fields: (t) => ({
    id: t.id({ description: 'Global id of the merge (give it to unmergeCustomer).', resolve: (m) => globalId('CustomerMerge', m.id) }),
    survivor: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The customer the others were merged into (as it is now; null once erased).',
      resolve: (m, _a, ctx) => ctx.loaders.customer.load(m.survivorId),
    }),
    mergedIds: t.idList({
      description: 'Global ids of the merged customers; until unmerged they answer `node` and `customer` with the survivor.',
      resolve: (m) => m.mergedIds.map((id) => globalId('Customer', id)),
    }),
    automatic: t.exposeBoolean('automatic', { description: 'Whether an identity policy (or the matching worker) merged them, rather than a person.' }),
    actor: t.exposeString('actor', { description: 'Who merged: an API key, a token subject, or `identity-policy`.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why, as given to mergeCustomers (free text; masked without pii:read).' }),
    mergedAt: t.field({ type: 'DateTime', description: 'When the merge committed.', resolve: (m) => m.mergedAt }),
    unmergedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was undone; null while it stands.', resolve: (m) => m.unmergedAt }),
    unmergedBy: t.exposeString('unmergedBy', { nullable: true, description: 'Who undid it.' }),
  }),
});

const IdentityPoliciesRef = builder.objectRef<IdentitySettings>('IdentityPolicies').implement({
  description: 'What an IDENTITY_CONFLICT on ingest does per identifier type, and the guard rails of automatic merges.',
  fields: (t) => ({
    policies: t.field({
      type: 'JSON',
      description: 'Identifier type → REJECT, MERGE or FLAG; types not named are REJECT.',
      resolve: (s) => s.policies,
    }),
    uniqueTypes: t.exposeStringList('uniqueTypes', {
      description: 'Identifier types of which a person has one value: two different values are never merged automatically.',
    }),
    maxClusterSize: t.exposeInt('maxClusterSize', { description: 'Most customers an automatic merge may leave behind one survivor, earlier merges included.' }),
  }),
});

async function mergeRecord(ctx: { servicesOf: (name: 'merges') => { merges: { findMerges(ids: string[]): Promise<Map<string, MergeRecord>> } } }, id: string) {
  const found = (await ctx.servicesOf('merges').merges.findMerges([id])).get(id);
  if (!found) throw fail('MERGE_NOT_FOUND', { id }, 'mergeId');
  return found;
}

builder.queryFields((t) => ({
  identityPolicies: t.field({
    type: IdentityPoliciesRef,
    description: 'The identity policies and guard rails in force (admin).',
    resolve: (_r, _a, ctx) => ctx.servicesOf('merges').identityPolicies.settings(),
  }),
  customerMerge: t.field({
    type: CustomerMergeRef,
    nullable: true,
    description: 'One merge by its global id; null when none has it.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the merge.' }) },
    resolve: async (_r, args, ctx) => {
      const id = localId(String(args.id), 'CustomerMerge', 'id');
      return (await ctx.servicesOf('merges').merges.findMerges([id])).get(id) ?? null;
    },
  }),
}));

builder.mutationFields((t) => ({
  mergeCustomers: t.field({
    type: CustomerMergeRef,
    description:
      'Merges customers into a survivor in one transaction: identifiers, interactions, consents (most restrictive wins), organisation members and static segment memberships move to it; traits are combined by the survivorship rules; the merged ids keep answering with the survivor. See docs/identity.md.',
    args: {
      survivorId: t.arg.id({ required: true, description: 'Global id of the customer that stays.' }),
      mergedIds: t.arg.idList({ required: true, description: 'Global ids of the customers merged into it (1 to 1,000).' }),
      survivorship: t.arg({
        type: 'JSON',
        description:
          'Rules per trait: `{ default, traits: {name: rule}, fields: {displayName: rule}, trust: [source] }`; rules MOST_RECENT (default), MOST_FREQUENT, MOST_TRUSTED_SOURCE, NEVER_OVERWRITE.',
      }),
      reason: t.arg.string({ description: 'Why (kept with the merge; at most 500 characters).' }),
    },
    resolve: async (_r, args, ctx) => {
      if (args.reason != null && args.reason.length > 500) throw fail('INVALID_FIELD', { detail: 'reason is at most 500 characters' }, 'reason');
      const survivorId = localId(String(args.survivorId), 'Customer', 'survivorId');
      const mergedIds = args.mergedIds.map((id, i) => localId(String(id), 'Customer', `mergedIds[${i}]`));
      const { merges } = ctx.servicesOf('merges');
      const result = await merges.merge({
        survivorId,
        mergedIds,
        survivorship: args.survivorship ?? null,
        actor: ctx.principal?.subject ?? 'anonymous',
        reason: args.reason ?? null,
      });
      return mergeRecord(ctx, result.mergeId);
    },
  }),
  unmergeCustomer: t.field({
    type: CustomerMergeRef,
    description:
      'Undoes a merge: the merged customers come back as they were; what reached the survivor after the merge stays with it. Merges are undone last first. See docs/identity.md.',
    args: { mergeId: t.arg.id({ required: true, description: 'Global id of the merge (CustomerMerge.id).' }) },
    resolve: async (_r, args, ctx) => {
      const mergeId = localId(String(args.mergeId), 'CustomerMerge', 'mergeId');
      await ctx.servicesOf('merges').merges.unmerge({ mergeId, actor: ctx.principal?.subject ?? 'anonymous' });
      return mergeRecord(ctx, mergeId);
    },
  }),
  updateIdentityPolicies: t.field({
    type: IdentityPoliciesRef,
    description:
      'Sets what an IDENTITY_CONFLICT on ingest does per identifier type and the guard rails (admin): `{ policies: {type: REJECT|MERGE|FLAG}, uniqueTypes: [type], maxClusterSize: n }`; keys left out keep their value.',
    args: { policies: t.arg({ type: 'JSON', required: true, description: 'The policies and guard rails to set.' }) },
    resolve: (_r, args, ctx) => ctx.servicesOf('merges').identityPolicies.update(args.policies),
  }),
}));

import { fail } from '../../errors/catalog';
import { builder } from '../../graphql/builder';
import type { GraphQLContext } from '../../graphql/context';
import { forwardOnly, globalId, localId } from '../../graphql/ids';
import { hasScope } from '../access';
import { CustomerRef } from '../customers';
import { RecomputeJobRef, toRecomputeJobRecord } from '../scores';
import type { Evidence } from './fellegi-sunter';
import { CLUSTER_LIMITS, type DuplicateClusterRecord, type DuplicatePairRecord, type IdentityMatchingRecord } from './identity.service';

const MatchEvidenceRef = builder.objectRef<Evidence>('MatchEvidence').implement({
  description: 'How one field of a duplicate pair compared, and what that contributed to the score (Fellegi–Sunter).',
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The compared field (givenName, birthDate, nationalId…; see docs/identity.md).' }),
    level: t.exposeString('level', {
      description:
        'Agreement level: EXACT, JW>=t (Jaro–Winkler at least t), TRIGRAM>=t, PHONETIC (same Double Metaphone code), TYPO (a date with a slip), WITHIN (a number within tolerance), DIFFERENT, or MISSING (either side empty). Masked without pii:read.',
    }),
    weight: t.float({
      nullable: true,
      description: 'The match weight of that level, log2(m/u), in bits: positive for evidence of a match. Null without pii:read.',
      resolve: (e) => e.weight,
    }),
  }),
});

/** A pair's customer; pairs are listed only while both exist, so a missing one is a race with an erasure. */
async function customer(ctx: GraphQLContext, id: string) {
  const found = await ctx.loaders.customer.load(id);
  if (!found) throw fail('CUSTOMER_NOT_FOUND', { detail: 'a customer of this pair no longer exists' });
  return found;
}

const DuplicatePairRef = builder.objectRef<DuplicatePairRecord>('DuplicatePair').implement({
  description: 'Two customers the matcher believes are one, with the evidence per field.',
  fields: (t) => ({
    id: t.id({
      description: 'The pair’s id: the two customers’ ids joined by a colon.',
      resolve: (p) => `${globalId('Customer', p.a)}:${globalId('Customer', p.b)}`,
    }),
    a: t.field({ type: CustomerRef, description: 'The customer with the lower id.', resolve: (p, _a, ctx) => customer(ctx, p.a) }),
    b: t.field({ type: CustomerRef, description: 'The customer with the higher id.', resolve: (p, _a, ctx) => customer(ctx, p.b) }),
    score: t.exposeFloat('score', { description: 'Match probability in [0, 1] under the fitted model.' }),
    evidence: t.field({
      type: [MatchEvidenceRef],
      description: 'Each compared field’s agreement level and weight, in the order of the settings.',
      resolve: (p) => p.evidence,
    }),
    status: t.exposeString('status', { description: 'OPEN, DISMISSED (a person said no; never brought back) or MERGED.' }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the pair was last scored or decided.', resolve: (p) => p.updatedAt }),
  }),
});

const DuplicatePairConnectionRef = builder.connectionObject(
  { type: DuplicatePairRef, name: 'DuplicatePairConnection', description: 'A page of duplicate pairs, best score first (Relay connection).' },
  { name: 'DuplicatePairEdge', description: 'A duplicate pair in a page, with its cursor.' },
);

const DuplicateClusterRef = builder.objectRef<DuplicateClusterRecord>('DuplicateCluster').implement({
  description: 'A connected group of customers linked by open duplicate pairs at or above the score asked for.',
  fields: (t) => ({
    size: t.int({ description: 'Customers in the cluster.', resolve: (c) => c.customerIds.length }),
    customers: t.field({
      type: [CustomerRef],
      description: 'The customers, oldest first.',
      resolve: async (c, _a, ctx) => (await Promise.all(c.customerIds.map((id) => ctx.loaders.customer.load(id)))).filter((x) => x !== null),
    }),
    minScore: t.exposeFloat('minScore', { description: 'The lowest score among the links that hold the cluster together.' }),
    maxScore: t.exposeFloat('maxScore', { description: 'The highest score among its links.' }),
  }),
});

const IdentityMatchingRef = builder.objectRef<IdentityMatchingRecord>('IdentityMatching').implement({
  description: 'The identity matcher: its settings, the models fitted by the last findDuplicates and what that run did.',
  fields: (t) => ({
    settings: t.field({
      type: 'JSON',
      description: 'Effective settings, defaults filled in (change them with updateIdentityMatching).',
      resolve: (m) => m.settings,
    }),
    models: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Fitted Fellegi–Sunter models by kind (PERSON, ORGANIZATION): λ and per field and level m and u. Null before the first findDuplicates.',
      resolve: (m) => m.models,
    }),
    lastRun: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The last findDuplicates: customers, pairsCompared, oversizedKeys, pairsStored, duplicates, durationMs, phases (wall and Node CPU time of each), EM fits, automatic merges.',
      resolve: (m) => m.lastRun,
    }),
    fittedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the models were last fitted.', resolve: (m) => m.fittedAt }),
  }),
});

builder.queryFields((t) => ({
  identityMatching: t.field({
    type: IdentityMatchingRef,
    description: 'The identity matcher’s settings, models and last run.',
    resolve: (_root, _args, ctx) => ctx.servicesOf('identity').identity.state(),
  }),
  duplicatePairs: t.connection(
    {
      type: DuplicatePairRef,
      description: 'Open duplicate pairs at or above minScore, best first.',
      args: { minScore: t.arg.float({ description: 'Lowest match probability; matchScore of the settings by default.' }) },
      resolve: (_root, args, ctx) => ctx.servicesOf('identity').identity.pairs({ ...forwardOnly(args), minScore: args.minScore }),
    },
    DuplicatePairConnectionRef,
  ),
  duplicateClusters: t.field({
    type: [DuplicateClusterRef],
    description: 'Connected groups of customers linked by open pairs at or above minScore, largest first.',
    args: {
      minScore: t.arg.float({ description: 'Lowest score of a link; matchScore of the settings by default.' }),
      first: t.arg.int({ description: `Clusters to return: ${CLUSTER_LIMITS.default} by default, at most ${CLUSTER_LIMITS.max}.` }),
    },
    resolve: (_root, args, ctx) => ctx.servicesOf('identity').identity.clusters(args),
  }),
}));

builder.mutationFields((t) => ({
  updateIdentityMatching: t.field({
    type: IdentityMatchingRef,
    description:
      'Changes the matcher’s settings (merged key by key into the stored ones; null resets a key), validated as a whole; the next findDuplicates uses them.',
    args: {
      settings: t.arg({ type: 'JSON', required: true, description: 'Settings to change, e.g. {"matchScore": 0.95}; see docs/identity.md. Needs pii:read.' }),
    },
    resolve: (_root, args, ctx) => {
      // The fields, comparisons and blocking keys decide which customers are listed as pairs: chosen freely,
      // they would list who shares a national id or a birth date, so choosing them needs personal data access.
      if (!hasScope(ctx.principal, 'pii:read')) {
        throw fail(
          'FORBIDDEN',
          { detail: 'the matching settings select customers by their personal data: changing them requires the scope pii:read' },
          'settings',
        );
      }
      return ctx.servicesOf('identity').identity.updateSettings(args.settings);
    },
  }),
  findDuplicates: t.field({
    type: RecomputeJobRef,
    description:
      'Starts a full matching run in the background (poll it with recomputeJob): fits the model, scores every candidate pair and stores the duplicates; afterwards, new and changed customers are matched as they are refreshed.',
    resolve: async (_root, _args, ctx) => toRecomputeJobRecord(await ctx.servicesOf('identity').identity.requestFindDuplicates()),
  }),
  dismissDuplicatePair: t.field({
    type: DuplicatePairRef,
    description: 'Says two customers are not the same: the pair is kept as DISMISSED and no later run reopens it.',
    args: {
      a: t.arg.id({ required: true, description: 'One customer of the pair.' }),
      b: t.arg.id({ required: true, description: 'The other customer.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.servicesOf('identity').identity.dismiss(localId(String(args.a), 'Customer', 'a'), localId(String(args.b), 'Customer', 'b')),
  }),
}));

import { fail } from '../../errors/catalog';
import { builder } from '../../graphql/builder';
import { forwardOnly, globalId } from '../../graphql/ids';
import { CustomerRef } from '../customers';
import { RecomputeJobRef } from '../scores';
import type { ProductRecommendationRecord, RecommendationModelRecord, RecommendationReasonRecord, SimilarProductRecord } from './recommendation.service';
import { recommendationLoaders } from './recommendation-loaders';
import { RECOMMENDATION_LIMITS } from './recommendation.service';

const RecommendationBasisEnum = builder.enumType('RecommendationBasis', {
  description: 'What a recommendation is based on.',
  values: {
    HISTORY: { description: "The customer's own products, through the fitted model." },
    ORGANIZATION: {
      description:
        'Nothing from the model (no product history yet, or nothing new that its products point to): the products most popular in the customer’s organisation.',
    },
    SEGMENT: {
      description:
        'Nothing from the model, and no organisation with product history: the products most popular in the smallest of the customer’s segments that has a popular list (one the caller may see the customer’s membership of).',
    },
    POPULAR: { description: 'Nothing from the model, no organisation and no segment with product history: the products most popular overall.' },
  } as const,
});

const RecommendationReasonKindEnum = builder.enumType('RecommendationReasonKind', {
  description: 'Why a product is recommended.',
  values: {
    OWNED_PRODUCT: { description: 'A product the customer has, similar to the recommended one; `product` names it.' },
    POPULAR_IN_ORGANIZATION: { description: 'Cold start: popular in the customer’s organisation; `organization` is it.' },
    POPULAR_IN_SEGMENT: { description: 'Cold start: popular in one of the customer’s segments; `segmentId` and `segmentName` name it.' },
    POPULAR: { description: 'Cold start: popular with all customers.' },
  } as const,
});

const RecommendationReasonRef = builder.objectRef<RecommendationReasonRecord>('RecommendationReason').implement({
  description: 'One reason behind a recommendation, with its weight.',
  fields: (t) => ({
    kind: t.field({ type: RecommendationReasonKindEnum, description: 'What kind of reason.', resolve: (r) => r.kind }),
    product: t.exposeString('product', { nullable: true, description: 'For OWNED_PRODUCT: the customer’s product that contributed.' }),
    weight: t.exposeFloat('weight', {
      description:
        'OWNED_PRODUCT: its contribution to the score (the customer’s weight for it × its similarity); cold start: the product’s share of popularity.',
    }),
    text: t.exposeString('text', {
      description:
        'The reason in a sentence, for a relationship manager (an organisation’s name in it is masked without pii:read, as on Customer.displayName).',
    }),
    organization: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'For POPULAR_IN_ORGANIZATION: the customer’s organisation.',
      resolve: (r, _a, ctx) => (r.organizationId ? ctx.loaders.customer.load(r.organizationId) : null),
    }),
    segmentId: t.id({
      nullable: true,
      description: 'For POPULAR_IN_SEGMENT: the id of the segment (a Segment) whose popular products these are.',
      resolve: (r) => (r.segmentId ? globalId('Segment', r.segmentId) : null),
    }),
    segmentName: t.exposeString('segmentName', { nullable: true, description: 'For POPULAR_IN_SEGMENT: the segment’s name.' }),
  }),
});

const ProductRecommendationRef = builder.objectRef<ProductRecommendationRecord>('ProductRecommendation').implement({
  description: 'A product recommended to a customer.',
  fields: (t) => ({
    product: t.exposeString('product', { description: 'The product (the value of the model’s productProperty).' }),
    score: t.exposeFloat('score', { description: 'How strongly the model recommends it (comparable within one basis).' }),
    rank: t.exposeInt('rank', { description: 'Position in the customer’s list, from 1.' }),
    basis: t.field({
      type: RecommendationBasisEnum,
      description: 'Whether it comes from the customer’s history or is a cold-start fallback.',
      resolve: (r) => r.basis,
    }),
    because: t.field({
      type: [RecommendationReasonRef],
      description: `The customer’s own products that contributed most, with weights (up to ${RECOMMENDATION_LIMITS.maxReasons}); for a cold start, the popularity it falls back on.`,
      resolve: (r) => r.because,
    }),
  }),
});

const SimilarProductRef = builder.objectRef<SimilarProductRecord>('SimilarProduct').implement({
  description: 'A neighbour of a product in the fitted model.',
  fields: (t) => ({
    product: t.exposeString('product', { description: 'The neighbouring product.' }),
    weight: t.exposeFloat('weight', { description: 'How much having the first product points to this one (the algorithm’s item-item weight).' }),
    rank: t.exposeInt('rank', { description: 'Position among the neighbours, from 1.' }),
  }),
});

const RecommendationModelRef = builder.objectRef<RecommendationModelRecord>('RecommendationModel').implement({
  description: 'The recommendation model: settings, what the current fit used, and how it went.',
  fields: (t) => ({
    settings: t.field({
      type: 'JSON',
      description: 'Effective settings, defaults filled in (change them with updateRecommendationModel).',
      resolve: (m) => m.settings,
    }),
    fitted: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The fitted state: the settings the current fit used (what refreshes score with until the next fit), its algorithm and asOf; null before the first fit.',
      resolve: (m) => m.fitted,
    }),
    diagnostics: t.field({
      type: 'JSON',
      nullable: true,
      description: 'How the last fit went: customers, products, pairs, products with neighbours, customers scored, seconds per step.',
      resolve: (m) => m.diagnostics,
    }),
    fittedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the model was last fitted.', resolve: (m) => m.fittedAt }),
    version: t.exposeInt('version', { description: 'Incremented at every fit.' }),
  }),
});

const ProductAudienceConnectionRef = builder.connectionObject(
  { type: CustomerRef, name: 'ProductAudienceConnection', description: 'Customers for whom a product is recommended, highest score first (Relay connection).' },
  {
    name: 'ProductAudienceEdge',
    description: 'A customer of a product’s audience, with the product’s score and rank for them.',
    fields: (t) => ({
      score: t.float({ description: 'The product’s score for this customer.', resolve: (e) => (e as unknown as { score: number }).score }),
      rank: t.int({ description: 'The product’s rank in this customer’s recommendations.', resolve: (e) => (e as unknown as { rank: number }).rank }),
    }),
  },
);

builder.objectField(CustomerRef, 'recommendations', (t) =>
  t.field({
    type: [ProductRecommendationRef],
    description:
      'Products recommended to the customer, best first, with the reasons. Customers without product history get the products popular in their organisation, else in their smallest segment with product history (one the caller may see their membership of), else overall (basis says which).',
    args: {
      first: t.arg.int({ defaultValue: RECOMMENDATION_LIMITS.defaultFirst, description: 'How many (10 by default, at most the model’s keep setting, 100).' }),
    },
    resolve: (c, args, ctx) => {
      const first = args.first ?? RECOMMENDATION_LIMITS.defaultFirst;
      if (!Number.isInteger(first) || first < 0 || first > 100) throw fail('PAGE_SIZE_EXCEEDED', { detail: 'first must be from 0 to 100' }, 'first');
      return recommendationLoaders(ctx).recommendations(first).load(c.id);
    },
  }),
);

builder.queryFields((t) => ({
  recommendationModel: t.field({
    type: RecommendationModelRef,
    description: 'The recommendation model: settings, fitted state and diagnostics.',
    resolve: (_root, _args, ctx) => ctx.servicesOf('recommendations').recommendations.model(),
  }),
  productAudience: t.connection(
    {
      type: CustomerRef,
      description: 'The customers most likely to take a product next (it is among their recommendations), highest score first: a cross-sell list.',
      args: { product: t.arg.string({ required: true, description: 'The product.' }) },
      resolve: async (_root, args, ctx) => {
        const page = await ctx.servicesOf('recommendations').recommendations.productAudience(args.product, forwardOnly(args));
        const customers = await Promise.all(page.edges.map((e) => ctx.loaders.customer.load(e.customerId)));
        return {
          ...page,
          edges: page.edges.flatMap((e, i) => (customers[i] ? [{ cursor: e.cursor, node: customers[i], score: e.score, rank: e.rank }] : [])),
        };
      },
    },
    ProductAudienceConnectionRef,
  ),
  similarProducts: t.field({
    type: [SimilarProductRef],
    description: 'The products nearest to one in the fitted model, strongest first.',
    args: {
      product: t.arg.string({ required: true, description: 'The product.' }),
      first: t.arg.int({ description: `How many (${RECOMMENDATION_LIMITS.defaultFirst} by default, at most ${RECOMMENDATION_LIMITS.maxSimilar}).` }),
    },
    resolve: (_root, args, ctx) => ctx.servicesOf('recommendations').recommendations.similarProducts(args.product, args.first),
  }),
}));

builder.mutationFields((t) => ({
  updateRecommendationModel: t.field({
    type: RecommendationModelRef,
    description:
      'Changes settings of the recommendation model (merged into the stored ones; null resets a setting, or clears halfLifeDays), validated; schedules a recompute. See docs/recommendations.md.',
    args: {
      settings: t.arg({
        type: 'JSON',
        required: true,
        description: 'Settings to change, e.g. {"interactionTypes": {"purchase": 1, "page_view": 0.2}, "halfLifeDays": 180}.',
      }),
    },
    resolve: (_root, args, ctx) => ctx.servicesOf('recommendations').recommendations.updateModel(args.settings),
  }),
  recomputeRecommendations: t.field({
    type: RecomputeJobRef,
    description:
      'Starts a refit of the recommendation model and a rescore of every customer; poll it with recomputeJob(id). A request while one is pending joins it.',
    resolve: (_root, _args, ctx) => ctx.servicesOf('recommendations').recommendations.requestRecompute(),
  }),
}));

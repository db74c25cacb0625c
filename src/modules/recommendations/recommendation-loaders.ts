import DataLoader from 'dataloader';
import type { GraphQLContext } from '../../graphql/context';
import { hasScope } from '../access';
import type { ProductRecommendationRecord, RecommendationAccess } from './recommendation.service';

/**
 * Request-scoped loaders of recommendations, kept beside the request context
 * (a WeakMap, so they die with the request): a page of customers asking for
 * `recommendations(first:)` costs the same few statements as one customer,
 * per distinct `first`.
 */
function createRecommendationLoaders(ctx: GraphQLContext) {
  const service = ctx.servicesOf('recommendations').recommendations;
  const access: RecommendationAccess = { segments: hasScope(ctx.principal, 'segments:read'), piiRead: hasScope(ctx.principal, 'pii:read') };
  const byFirst = new Map<number, DataLoader<string, ProductRecommendationRecord[]>>();
  return {
    recommendations(first: number): DataLoader<string, ProductRecommendationRecord[]> {
      let loader = byFirst.get(first);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const found = await service.recommendationsForMany(ids, first, access);
          return ids.map((id) => found.get(id) ?? []);
        });
        byFirst.set(first, loader);
      }
      return loader;
    },
  };
}

const perRequest = new WeakMap<GraphQLContext, ReturnType<typeof createRecommendationLoaders>>();

export function recommendationLoaders(ctx: GraphQLContext): ReturnType<typeof createRecommendationLoaders> {
  let loaders = perRequest.get(ctx);
  if (!loaders) {
    loaders = createRecommendationLoaders(ctx);
    perRequest.set(ctx, loaders);
  }
  return loaders;
}

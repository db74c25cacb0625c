import DataLoader from 'dataloader';
import type { GraphQLContext } from '../../graphql/context';
import type { MembershipEventRecord, SegmentRecord } from './segment.service';

/**
 * Request-scoped loaders of segments, kept beside the request context (a
 * WeakMap, so they die with the request): a page of customers costs one
 * statement for their segments and one per distinct `segmentHistory(first:)`.
 */
function createSegmentLoaders(ctx: GraphQLContext) {
  const segments = ctx.servicesOf('segments').segments;
  const historyLoaders = new Map<number, DataLoader<string, MembershipEventRecord[]>>();
  let personal: Promise<Set<string>> | undefined;
  return {
    /** Ids of the segments over personal data (see SegmentService.personalSegmentIds), once per request. */
    personalSegmentIds(): Promise<Set<string>> {
      personal ??= segments.personalSegmentIds();
      return personal;
    },
    segment: new DataLoader<string, SegmentRecord | null>(async (ids) => {
      const found = await segments.findByIds(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
    segmentsOfCustomer: new DataLoader<string, SegmentRecord[]>(async (ids) => {
      const found = await segments.segmentsOfCustomers(ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    historyOfCustomer(first: number): DataLoader<string, MembershipEventRecord[]> {
      let loader = historyLoaders.get(first);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const found = await segments.historyOfCustomers(ids, first);
          return ids.map((id) => found.get(id) ?? []);
        });
        historyLoaders.set(first, loader);
      }
      return loader;
    },
  };
}

const perRequest = new WeakMap<GraphQLContext, ReturnType<typeof createSegmentLoaders>>();

export function segmentLoaders(ctx: GraphQLContext): ReturnType<typeof createSegmentLoaders> {
  let loaders = perRequest.get(ctx);
  if (!loaders) {
    loaders = createSegmentLoaders(ctx);
    perRequest.set(ctx, loaders);
  }
  return loaders;
}

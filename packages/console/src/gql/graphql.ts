/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Whether a customer is a person or an organisation. */
export type CustomerKind =
  /** A company or other organisation; persons can belong to it. */
  | 'ORGANIZATION'
  /** An individual. */
  | 'PERSON';

/** How a segment gets its members. */
export type SegmentKind =
  /** Members are the customers its rule matches, kept exact asynchronously. */
  | 'DYNAMIC'
  /** Members are added and removed by hand (addToSegment, removeFromSegment). */
  | 'STATIC';

export type CustomersByIdsQueryVariables = Exact<{
  ids: Array<string> | string;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type CustomersByIdsQuery = { customers: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, kind: CustomerKind, displayName: string | null, lifecycleStage: string | null, stats: { lastSeenAt: string | null, interactionCount: number, transactionValue: number } } }> } };

export type CustomerRowFragment = { id: string, kind: CustomerKind, displayName: string | null, lifecycleStage: string | null, stats: { lastSeenAt: string | null, interactionCount: number, transactionValue: number } };

export type OverviewCountsQueryVariables = Exact<{
  since: string;
}>;


export type OverviewCountsQuery = { customers: { totalCount: number }, active: { totalCount: number }, rfmScored: { totalCount: number } };

export type OverviewInteractionsQueryVariables = Exact<{
  since: string;
  after?: string | null | undefined;
}>;


export type OverviewInteractionsQuery = { interactions: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { channel: string, occurredAt: string } }> } };

export type OverviewRfmQueryVariables = Exact<{
  after?: string | null | undefined;
}>;


export type OverviewRfmQuery = { customers: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, score: { components: unknown } | null } }> } };

export type OverviewScoreDistributionsQueryVariables = Exact<{ [key: string]: never; }>;


export type OverviewScoreDistributionsQuery = { rfm: Array<{ lower: number, upper: number, count: number }>, clv: Array<{ lower: number, upper: number, count: number }>, churnRisk: Array<{ lower: number, upper: number, count: number }>, churnPropensity: Array<{ lower: number, upper: number, count: number }>, engagement: Array<{ lower: number, upper: number, count: number }> };

export type BucketFragment = { lower: number, upper: number, count: number };

export type OverviewSegmentsQueryVariables = Exact<{ [key: string]: never; }>;


export type OverviewSegmentsQuery = { segments: { edges: Array<{ node: { id: string, name: string, kind: SegmentKind, size: number, createdAt: string, sizeHistory: Array<{ recordedAt: string, size: number }> } }> } };

export type ConsoleSessionQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleSessionQuery = { customers: { totalCount: number } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const CustomerRowFragmentDoc = new TypedDocumentString(`
    fragment CustomerRow on Customer {
  id
  kind
  displayName
  lifecycleStage
  stats {
    lastSeenAt
    interactionCount
    transactionValue
  }
}
    `, {"fragmentName":"CustomerRow"}) as unknown as TypedDocumentString<CustomerRowFragment, unknown>;
export const BucketFragmentDoc = new TypedDocumentString(`
    fragment Bucket on ScoreBucket {
  lower
  upper
  count
}
    `, {"fragmentName":"Bucket"}) as unknown as TypedDocumentString<BucketFragment, unknown>;
export const CustomersByIdsDocument = new TypedDocumentString(`
    query CustomersByIds($ids: [ID!]!, $first: Int, $after: String) {
  customers(first: $first, after: $after, filter: {id: {in: $ids}}) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        ...CustomerRow
      }
    }
  }
}
    fragment CustomerRow on Customer {
  id
  kind
  displayName
  lifecycleStage
  stats {
    lastSeenAt
    interactionCount
    transactionValue
  }
}`) as unknown as TypedDocumentString<CustomersByIdsQuery, CustomersByIdsQueryVariables>;
export const OverviewCountsDocument = new TypedDocumentString(`
    query OverviewCounts($since: DateTime!) {
  customers(first: 1) {
    totalCount
  }
  active: customers(first: 1, filter: {lastSeenAt: {gte: $since}}) {
    totalCount
  }
  rfmScored: customers(first: 1, filter: {score: {kind: RFM}}) {
    totalCount
  }
}
    `) as unknown as TypedDocumentString<OverviewCountsQuery, OverviewCountsQueryVariables>;
export const OverviewInteractionsDocument = new TypedDocumentString(`
    query OverviewInteractions($since: DateTime!, $after: String) {
  interactions(first: 500, after: $after, filter: {occurredAt: {gte: $since}}) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        channel
        occurredAt
      }
    }
  }
}
    `) as unknown as TypedDocumentString<OverviewInteractionsQuery, OverviewInteractionsQueryVariables>;
export const OverviewRfmDocument = new TypedDocumentString(`
    query OverviewRfm($after: String) {
  customers(first: 500, after: $after, filter: {score: {kind: RFM}}) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        id
        score(kind: RFM) {
          components
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<OverviewRfmQuery, OverviewRfmQueryVariables>;
export const OverviewScoreDistributionsDocument = new TypedDocumentString(`
    query OverviewScoreDistributions {
  rfm: scoreDistribution(kind: RFM, buckets: 8) {
    ...Bucket
  }
  clv: scoreDistribution(kind: CLV, buckets: 10) {
    ...Bucket
  }
  churnRisk: scoreDistribution(kind: CHURN_RISK, buckets: 10) {
    ...Bucket
  }
  churnPropensity: scoreDistribution(kind: CHURN_PROPENSITY, buckets: 10) {
    ...Bucket
  }
  engagement: scoreDistribution(kind: ENGAGEMENT, buckets: 10) {
    ...Bucket
  }
}
    fragment Bucket on ScoreBucket {
  lower
  upper
  count
}`) as unknown as TypedDocumentString<OverviewScoreDistributionsQuery, OverviewScoreDistributionsQueryVariables>;
export const OverviewSegmentsDocument = new TypedDocumentString(`
    query OverviewSegments {
  segments(first: 100) {
    edges {
      node {
        id
        name
        kind
        size
        createdAt
        sizeHistory(first: 200) {
          recordedAt
          size
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<OverviewSegmentsQuery, OverviewSegmentsQueryVariables>;
export const ConsoleSessionDocument = new TypedDocumentString(`
    query ConsoleSession {
  customers(first: 1) {
    totalCount
  }
}
    `) as unknown as TypedDocumentString<ConsoleSessionQuery, ConsoleSessionQueryVariables>;
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Where an alert is on the worklist. */
export type AlertStatus =
  /** Someone took it (acknowledgeAlert). */
  | 'ACKNOWLEDGED'
  /** Fired; nobody has taken it yet. */
  | 'OPEN'
  /** Dealt with (resolveAlert); final. */
  | 'RESOLVED';

/** What makes an alert rule fire. */
export type AlertTriggerKind =
  /** A score moves by at least an amount. */
  | 'SCORE_CHANGES'
  /** A score crosses a threshold. */
  | 'SCORE_CROSSES'
  /** A customer enters a segment. */
  | 'SEGMENT_ENTERED';

/** A customer’s decision for one purpose and channel. */
export type ConsentStatus =
  /** Consent denied. */
  | 'DENIED'
  /** Consent granted. */
  | 'GRANTED'
  /** Consent withdrawn. */
  | 'WITHDRAWN';

/** Typed filter over customers: every given field must match; combine with and, or, not. */
export type CustomerFilter = {
  /** All of these. */
  and?: Array<CustomerFilter> | null | undefined;
  /** Creation time. */
  createdAt?: DateTimeFilter | null | undefined;
  /** Display name (needs pii:read). */
  displayName?: StringFilter | null | undefined;
  /** Customer global id. */
  id?: IdFilter | null | undefined;
  /** Has this identifier (normalised before matching; needs pii:read). */
  identifier?: IdentifierInput | null | undefined;
  /** Number of interactions. */
  interactionCount?: IntFilter | null | undefined;
  /** Person or organisation. */
  kind?: CustomerKindFilter | null | undefined;
  /** Latest interaction. */
  lastSeenAt?: DateTimeFilter | null | undefined;
  /** Lifecycle stage. */
  lifecycleStage?: StringFilter | null | undefined;
  /** Not this. */
  not?: CustomerFilter | null | undefined;
  /** Any of these. */
  or?: Array<CustomerFilter> | null | undefined;
  /** Global id of the organisation. */
  organizationId?: IdFilter | null | undefined;
  /** Relationship manager. */
  owner?: StringFilter | null | undefined;
  /** A condition on one kind of score (value, label). */
  score?: ScoreFilter | null | undefined;
  /** Conditions on traits; all must hold. */
  traits?: Array<TraitFilter> | null | undefined;
  /** Number of transactions. */
  transactionCount?: IntFilter | null | undefined;
  /** Total transaction value. */
  transactionValue?: FloatFilter | null | undefined;
  /** Last profile change. */
  updatedAt?: DateTimeFilter | null | undefined;
};

/** Whether a customer is a person or an organisation. */
export type CustomerKind =
  /** A company or other organisation; persons can belong to it. */
  | 'ORGANIZATION'
  /** An individual. */
  | 'PERSON';

/** Conditions on the customer kind. */
export type CustomerKindFilter = {
  /** Equal to. */
  eq?: CustomerKind | null | undefined;
  /** One of. */
  in?: Array<CustomerKind> | null | undefined;
};

/** Conditions on an instant; all given conditions must hold. */
export type DateTimeFilter = {
  /** At exactly this instant. */
  eq?: string | null | undefined;
  /** After. */
  gt?: string | null | undefined;
  /** At or after. */
  gte?: string | null | undefined;
  /** True: the field is empty; false: it has a value. */
  isNull?: boolean | null | undefined;
  /** Before. */
  lt?: string | null | undefined;
  /** At or before. */
  lte?: string | null | undefined;
};

/** Who started an interaction. */
export type Direction =
  /** The customer reached out. */
  | 'INBOUND'
  /** The business reached out. */
  | 'OUTBOUND';

/** Conditions on a number; all given conditions must hold. */
export type FloatFilter = {
  /** Equal to. */
  eq?: number | null | undefined;
  /** Greater than. */
  gt?: number | null | undefined;
  /** Greater than or equal to. */
  gte?: number | null | undefined;
  /** One of these values (at most 1000). */
  in?: Array<number> | null | undefined;
  /** True: the field is empty; false: it has a value. */
  isNull?: boolean | null | undefined;
  /** Less than. */
  lt?: number | null | undefined;
  /** Less than or equal to. */
  lte?: number | null | undefined;
  /** Not equal to. */
  ne?: number | null | undefined;
};

/** Conditions on a global id. */
export type IdFilter = {
  /** Equal to this global id. */
  eq?: string | null | undefined;
  /** One of these global ids (at most 1000). */
  in?: Array<string> | null | undefined;
  /** True: no id; false: any id. */
  isNull?: boolean | null | undefined;
};

/** An identifier of a customer. `email` is lower-cased, `phone` normalised to E.164; any other type is a namespace (`shopify`, `crm`) kept as given. */
export type IdentifierInput = {
  /** email, phone, or a namespace such as shopify or crm. */
  type: string;
  /** The identifier within its type. */
  value: string;
};

/** Conditions on an integer; all given conditions must hold. */
export type IntFilter = {
  /** Equal to. */
  eq?: number | null | undefined;
  /** Greater than. */
  gt?: number | null | undefined;
  /** Greater than or equal to. */
  gte?: number | null | undefined;
  /** One of these values (at most 1000). */
  in?: Array<number> | null | undefined;
  /** Less than. */
  lt?: number | null | undefined;
  /** Less than or equal to. */
  lte?: number | null | undefined;
  /** Not equal to. */
  ne?: number | null | undefined;
};

/** What a recommendation is based on. */
export type RecommendationBasis =
  /** The customer's own products, through the fitted model. */
  | 'HISTORY'
  /** Nothing from the model (no product history yet, or nothing new that its products point to): the products most popular in the customer’s organisation. */
  | 'ORGANIZATION'
  /** Nothing from the model, and no organisation with product history: the products most popular overall. */
  | 'POPULAR';

/** A condition on one kind of score; customers without that score never match. */
export type ScoreFilter = {
  /** Which score. */
  kind: ScoreKind;
  /** The label is one of these (e.g. ["Champions", "Loyal"], ["HIGH"]). */
  labelIn?: Array<string> | null | undefined;
  /** Conditions on the value. */
  value?: FloatFilter | null | undefined;
};

/** A kind of score; each has one model with its own settings. */
export type ScoreKind =
  /** Probability (0–1) of the configured outcome from a logistic regression trained on customers with a known outcome; label LOW, MEDIUM or HIGH. */
  | 'CHURN_PROPENSITY'
  /** 1 − P(alive) from the BG/NBD model, 0–1; label LOW, MEDIUM or HIGH. */
  | 'CHURN_RISK'
  /** Discounted customer lifetime value (BG/NBD purchases × Gamma-Gamma spend). */
  | 'CLV'
  /** Exponentially decayed, weighted sum of interactions, scaled 0–100. */
  | 'ENGAGEMENT'
  /** Recency, frequency and monetary quintiles (1–5); value = mean of R, F, M; label = RFM segment (Champions … Lost). */
  | 'RFM';

/** How a segment gets its members. */
export type SegmentKind =
  /** Members are the customers its rule matches, kept exact asynchronously. */
  | 'DYNAMIC'
  /** Members are added and removed by hand (addToSegment, removeFromSegment). */
  | 'STATIC';

/** A change of membership. */
export type SegmentMembershipEventKind =
  /** The customer joined the segment. */
  | 'ENTERED'
  /** The customer left the segment. */
  | 'EXITED';

/** Conditions on a text field; all given conditions must hold. */
export type StringFilter = {
  /** Contains this text, case-insensitive. */
  contains?: string | null | undefined;
  /** Equal to. */
  eq?: string | null | undefined;
  /** One of these values (at most 1000). */
  in?: Array<string> | null | undefined;
  /** True: the field is empty; false: it has a value. */
  isNull?: boolean | null | undefined;
  /** Not equal to (NULL counts as different). */
  ne?: string | null | undefined;
  /** Starts with this text, case-sensitive. */
  startsWith?: string | null | undefined;
};

/** Conditions on one trait addressed by a dot path (`industry`, `address.city`); all given conditions must hold. Paths through a personal trait (RAPPORT_PERSONAL_TRAITS, at any depth, any case) need pii:read. */
export type TraitFilter = {
  /** A string, number or boolean whose text contains this, case-insensitive (objects and lists never match). */
  contains?: string | null | undefined;
  /** Equal to this JSON value. */
  eq?: unknown;
  /** True: the trait is present; false: absent. */
  exists?: boolean | null | undefined;
  /** A number greater than. */
  gt?: number | null | undefined;
  /** A number greater than or equal to. */
  gte?: number | null | undefined;
  /** Equal to one of these JSON values. */
  in?: Array<unknown> | null | undefined;
  /** A number less than. */
  lt?: number | null | undefined;
  /** A number less than or equal to. */
  lte?: number | null | undefined;
  /** Not equal to this JSON value (missing counts as different). */
  ne?: unknown;
  /** Dot-separated path into traits. */
  path: string;
};

export type CustomerSearchQueryVariables = Exact<{
  filter?: CustomerFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type CustomerSearchQuery = { customers: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, kind: CustomerKind, displayName: string | null, lifecycleStage: string | null, stats: { lastSeenAt: string | null, interactionCount: number, transactionValue: number } } }> } };

export type CustomerByIdentifier360QueryVariables = Exact<{
  identifier: IdentifierInput;
}>;


export type CustomerByIdentifier360Query = { customer: { id: string } | null };

export type Customer360ProfileQueryVariables = Exact<{
  id: string;
}>;


export type Customer360ProfileQuery = { customer: { id: string, kind: CustomerKind, displayName: string | null, lifecycleStage: string | null, owner: string | null, createdAt: string, updatedAt: string, traits: unknown, identifiers: Array<{ type: string, value: string, createdAt: string }>, consents: Array<{ channel: string, purpose: string, status: ConsentStatus, source: string, recordedAt: string }>, stats: { interactionCount: number, transactionCount: number, transactionValue: number, firstSeenAt: string | null, lastSeenAt: string | null, channels: unknown } } | null };

export type Customer360InteractionsQueryVariables = Exact<{
  id: string;
  first?: number | null | undefined;
}>;


export type Customer360InteractionsQuery = { customer: { id: string, interactions: { totalCount: number, edges: Array<{ node: { id: string, channel: string, type: string, direction: Direction | null, occurredAt: string, value: number | null, currency: string | null, sentiment: number | null, source: string } }> } } | null };

export type Customer360ScoresQueryVariables = Exact<{
  id: string;
}>;


export type Customer360ScoresQuery = { customer: { id: string, scores: Array<{ kind: ScoreKind, value: number, label: string | null, components: unknown, changedAt: string, computedAt: string, modelVersion: number, history: Array<{ recordedAt: string, value: number, label: string | null }> }> } | null };

export type Customer360SegmentsQueryVariables = Exact<{
  id: string;
}>;


export type Customer360SegmentsQuery = { customer: { id: string, segments: Array<{ id: string, name: string, kind: SegmentKind }>, segmentHistory: Array<{ kind: SegmentMembershipEventKind, occurredAt: string, segment: { id: string, name: string } }> } | null };

export type Customer360RecommendationsQueryVariables = Exact<{
  id: string;
}>;


export type Customer360RecommendationsQuery = { customer: { id: string, recommendations: Array<{ product: string, rank: number, score: number, basis: RecommendationBasis, because: Array<{ text: string }> }> } | null };

export type Customer360AlertsQueryVariables = Exact<{
  id: string;
}>;


export type Customer360AlertsQuery = { customer: { id: string, alerts: { totalCount: number, edges: Array<{ node: { id: string, ruleName: string, status: AlertStatus, trigger: AlertTriggerKind, firedAt: string, scoreKind: ScoreKind | null, value: number | null } }> } } | null };

export type Customer360OrganizationQueryVariables = Exact<{
  id: string;
}>;


export type Customer360OrganizationQuery = { customer: { id: string, kind: CustomerKind, organization: { id: string, displayName: string | null } | null, members: { totalCount: number, edges: Array<{ node: { id: string, displayName: string | null, lifecycleStage: string | null } }> } } | null };

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
export const CustomerSearchDocument = new TypedDocumentString(`
    query CustomerSearch($filter: CustomerFilter, $first: Int, $after: String) {
  customers(
    first: $first
    after: $after
    filter: $filter
    orderBy: [{field: LAST_SEEN_AT, direction: DESC}]
  ) {
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
}`) as unknown as TypedDocumentString<CustomerSearchQuery, CustomerSearchQueryVariables>;
export const CustomerByIdentifier360Document = new TypedDocumentString(`
    query CustomerByIdentifier360($identifier: IdentifierInput!) {
  customer(identifier: $identifier) {
    id
  }
}
    `) as unknown as TypedDocumentString<CustomerByIdentifier360Query, CustomerByIdentifier360QueryVariables>;
export const Customer360ProfileDocument = new TypedDocumentString(`
    query Customer360Profile($id: ID!) {
  customer(id: $id) {
    id
    kind
    displayName
    lifecycleStage
    owner
    createdAt
    updatedAt
    traits
    identifiers {
      type
      value
      createdAt
    }
    consents {
      channel
      purpose
      status
      source
      recordedAt
    }
    stats {
      interactionCount
      transactionCount
      transactionValue
      firstSeenAt
      lastSeenAt
      channels
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360ProfileQuery, Customer360ProfileQueryVariables>;
export const Customer360InteractionsDocument = new TypedDocumentString(`
    query Customer360Interactions($id: ID!, $first: Int) {
  customer(id: $id) {
    id
    interactions(first: $first, orderBy: [{field: OCCURRED_AT, direction: DESC}]) {
      totalCount
      edges {
        node {
          id
          channel
          type
          direction
          occurredAt
          value
          currency
          sentiment
          source
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360InteractionsQuery, Customer360InteractionsQueryVariables>;
export const Customer360ScoresDocument = new TypedDocumentString(`
    query Customer360Scores($id: ID!) {
  customer(id: $id) {
    id
    scores {
      kind
      value
      label
      components
      changedAt
      computedAt
      modelVersion
      history(first: 30) {
        recordedAt
        value
        label
      }
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360ScoresQuery, Customer360ScoresQueryVariables>;
export const Customer360SegmentsDocument = new TypedDocumentString(`
    query Customer360Segments($id: ID!) {
  customer(id: $id) {
    id
    segments {
      id
      name
      kind
    }
    segmentHistory(first: 50) {
      kind
      occurredAt
      segment {
        id
        name
      }
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360SegmentsQuery, Customer360SegmentsQueryVariables>;
export const Customer360RecommendationsDocument = new TypedDocumentString(`
    query Customer360Recommendations($id: ID!) {
  customer(id: $id) {
    id
    recommendations(first: 5) {
      product
      rank
      score
      basis
      because {
        text
      }
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360RecommendationsQuery, Customer360RecommendationsQueryVariables>;
export const Customer360AlertsDocument = new TypedDocumentString(`
    query Customer360Alerts($id: ID!) {
  customer(id: $id) {
    id
    alerts(first: 10) {
      totalCount
      edges {
        node {
          id
          ruleName
          status
          trigger
          firedAt
          scoreKind
          value
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360AlertsQuery, Customer360AlertsQueryVariables>;
export const Customer360OrganizationDocument = new TypedDocumentString(`
    query Customer360Organization($id: ID!) {
  customer(id: $id) {
    id
    kind
    organization {
      id
      displayName
    }
    members(first: 25) {
      totalCount
      edges {
        node {
          id
          displayName
          lifecycleStage
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<Customer360OrganizationQuery, Customer360OrganizationQueryVariables>;
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
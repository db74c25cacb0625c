/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** A customer field or trait compared with a value, e.g. { field: "traits.industry", op: EQ, value: "finance" }. */
export type AttributeConditionInput = {
  /** kind, displayName, lifecycleStage, owner, createdAt, updatedAt, interactionCount, transactionCount, transactionValue, firstSeenAt, lastSeenAt, or traits.<path> (dot path into traits). displayName and personal traits (RAPPORT_PERSONAL_TRAITS, at any depth) need pii:read. */
  field: string;
  /** How to compare; must fit the field’s type. */
  op: ComparisonOp;
  /** A string, number, boolean or ISO instant; a list for IN/NOT_IN; [low, high] for BETWEEN; true/false for EXISTS. */
  value?: unknown;
};

/** What a behaviour condition measures over the matching interactions. */
export type BehaviorAggregate =
  /** How many there are. */
  | 'COUNT'
  /** On how many distinct days (UTC) they happened. */
  | 'DISTINCT_DAYS'
  /** The sum of their value. */
  | 'SUM';

/** An aggregate of the customer’s interactions of a channel/type within a window, compared with a number, e.g. at least 3 purchases in the last 90 days. Use op LT/EQ with value 0 (or `not`) for “did not”. */
export type BehaviorConditionInput = {
  /** What to measure; COUNT by default. */
  aggregate?: BehaviorAggregate | null | undefined;
  /** Only interactions on this channel (email, web, payment…). */
  channel?: string | null | undefined;
  /** Window start, inclusive. */
  from?: string | null | undefined;
  /** Window: the last N days up to now (1 to 36500); exclusive with from/to. */
  lastDays?: number | null | undefined;
  /** EQ, NE, GT, GTE, LT or LTE. */
  op: ComparisonOp;
  /** Window end, exclusive. */
  to?: string | null | undefined;
  /** Only interactions of this type (purchase, open…). */
  type?: string | null | undefined;
  /** The number the aggregate is compared with. */
  value: number;
  /** Conditions on interaction properties, all must hold (at most 20). */
  where?: Array<PropertyConditionInput> | null | undefined;
};

/** How a condition compares a figure with its value. Behaviour and score conditions take EQ, NE, GT, GTE, LT, LTE. */
export type ComparisonOp =
  /** Between value[0] and value[1], both included. */
  | 'BETWEEN'
  /** Text containing value (case-insensitive), or for a JSON list trait, a list with value as an element. */
  | 'CONTAINS'
  /** Equal to value. */
  | 'EQ'
  /** The field is present (value true or omitted) or absent (value false). */
  | 'EXISTS'
  /** Greater than value. */
  | 'GT'
  /** Greater than or equal to value. */
  | 'GTE'
  /** Equal to one of value (a non-empty JSON list). */
  | 'IN'
  /** Less than value. */
  | 'LT'
  /** Less than or equal to value. */
  | 'LTE'
  /** Not equal to value (a missing field counts as different). */
  | 'NE'
  /** Equal to none of value (a missing field counts as none). */
  | 'NOT_IN'
  /** Text starting with value (case-sensitive). */
  | 'STARTS_WITH';

/** Whether a connection runs. */
export type ConnectionStatus =
  /** Runs on its schedule and accepts webhooks. */
  | 'ACTIVE'
  /** The source refused the credentials or config during a run; the next successful run (or setting ACTIVE) clears it. */
  | 'NEEDS_ATTENTION'
  /** Neither syncs nor accepts webhooks (deliveries are refused: 401 WEBHOOK_REFUSED). */
  | 'PAUSED';

/** What a connector run was. */
export type ConnectorRunKind =
  /** A file import. */
  | 'IMPORT'
  /** A pull sync. */
  | 'SYNC'
  /** One webhook delivery. */
  | 'WEBHOOK';

/** How a connector run went. */
export type ConnectorRunStatus =
  /** Failed; see error. Batches committed before the failure are kept. */
  | 'FAILED'
  /** Ended early (rate limit or transient failure) keeping every committed batch; the next run resumes. */
  | 'PARTIAL'
  /** Waiting for a worker. */
  | 'QUEUED'
  /** In progress; counts grow as batches commit. */
  | 'RUNNING'
  /** Finished; rejected rows, if any, are listed in errors. */
  | 'SUCCEEDED';

/** Whether a connector plugin could be loaded. */
export type ConnectorStatus =
  /** Failed to load or validate; see error. Other connectors are unaffected. */
  | 'FAILED'
  /** Loaded and validated; connections can use it. */
  | 'LOADED';

/** The customer’s consent for a purpose, e.g. { purpose: "marketing", channel: "email" }: the channel’s own record, else the every-channel one. No record never matches. */
export type ConsentConditionInput = {
  /** Which channel; `*` (default) for the every-channel record. */
  channel?: string | null | undefined;
  /** What for, e.g. marketing. */
  purpose: string;
  /** Matching statuses: GRANTED (default), DENIED, WITHDRAWN. */
  statusIn?: Array<string> | null | undefined;
};

/** A new connection of an installed connector. */
export type CreateConnectionInput = {
  /** Settings, validated against the connector’s configSchema; secrets are encrypted at rest. */
  config: unknown;
  /** The connector id (see connectors). */
  connector: string;
  /** Country (ISO 3166-1 alpha-2, GB) in which phone numbers without a country code are read; default: RAPPORT_DEFAULT_PHONE_COUNTRY. */
  defaultCountry?: string | null | undefined;
  /** Unique name, 1 to 128 characters. */
  name: string;
  /** Pull schedule: seconds between runs ("3600") or a cron pattern ("0 * * * *"). Pull connectors only. */
  schedule?: string | null | undefined;
  /** ACTIVE (default) or PAUSED. */
  status?: ConnectionStatus | null | undefined;
};

/** Whether a customer is a person or an organisation. */
export type CustomerKind =
  /** A company or other organisation; persons can belong to it. */
  | 'ORGANIZATION'
  /** An individual. */
  | 'PERSON';

/** A condition on an interaction property, e.g. { path: "sku", op: EQ, value: "A-1" }. */
export type PropertyConditionInput = {
  /** How to compare. */
  op: ComparisonOp;
  /** Dot path into the interaction’s properties; a personal property (RAPPORT_PERSONAL_PROPERTIES, at any depth) needs pii:read. */
  path: string;
  /** As for attribute conditions on traits. */
  value?: unknown;
};

/** A product among the customer’s first recommendations, e.g. { product: "Savings Plus", rankAtMost: 3 }. Customers without recommendations never match. */
export type RecommendedConditionInput = {
  /** The product (a value of the recommendation model’s productProperty). */
  product: string;
  /** Its rank is at most this (1 to 100). */
  rankAtMost: number;
};

/** Where a recompute job stands. */
export type RecomputeJobStatus =
  /** Done. */
  | 'COMPLETED'
  /** Stopped; see error. */
  | 'FAILED'
  /** Waiting for a worker. */
  | 'QUEUED'
  /** A worker is on it; see progress and heartbeatAt. */
  | 'RUNNING'
  /** Its worker stopped reporting (heartbeatAt is older than the job lock, RAPPORT_JOB_LOCK_MS): it died or hangs. The queue hands the job to another worker, which starts it over (status goes back to QUEUED, then RUNNING); keep polling. Nothing needs requesting again. */
  | 'STALLED';

/** A score compared by value and/or label, e.g. { kind: CHURN_RISK, labelIn: ["HIGH"] }. Customers without that score never match. */
export type ScoreConditionInput = {
  /** Which score. */
  kind: ScoreKind;
  /** The label is one of these (e.g. ["Champions", "Loyal"]). */
  labelIn?: Array<string> | null | undefined;
  /** EQ, NE, GT, GTE, LT or LTE; with value. */
  op?: ComparisonOp | null | undefined;
  /** Compared with the score’s value; with op. */
  value?: number | null | undefined;
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

/** The kind of a rule node. */
export type SegmentConditionKind =
  /** All of its children. */
  | 'AND'
  /** A field or trait condition. */
  | 'ATTRIBUTE'
  /** An interaction aggregate condition. */
  | 'BEHAVIOR'
  /** A consent condition. */
  | 'CONSENT'
  /** Membership of another segment. */
  | 'IN_SEGMENT'
  /** Negation of its child. */
  | 'NOT'
  /** Any of its children. */
  | 'OR'
  /** A recommendation condition. */
  | 'RECOMMENDED'
  /** A score condition. */
  | 'SCORE';

/** A segment definition. */
export type SegmentInput = {
  /** What the segment is for. */
  description?: string | null | undefined;
  /** DYNAMIC (default; needs a rule) or STATIC (no rule). */
  kind?: SegmentKind | null | undefined;
  /** Unique name (1 to 200 characters). */
  name: string;
  /** The rule of a DYNAMIC segment. */
  rule?: SegmentRuleInput | null | undefined;
};

/** How a segment gets its members. */
export type SegmentKind =
  /** Members are the customers its rule matches, kept exact asynchronously. */
  | 'DYNAMIC'
  /** Members are added and removed by hand (addToSegment, removeFromSegment). */
  | 'STATIC';

/** A rule tree node: exactly one of its fields. At most 10 levels and 100 conditions. */
export type SegmentRuleInput =
  {   /** All of these hold. */
  and: Array<SegmentRuleInput>; attribute?: never; behavior?: never; consent?: never; inSegment?: never; not?: never; or?: never; recommended?: never; score?: never; }
  |  { and?: never;   /** A customer field or trait condition. */
  attribute: AttributeConditionInput; behavior?: never; consent?: never; inSegment?: never; not?: never; or?: never; recommended?: never; score?: never; }
  |  { and?: never; attribute?: never;   /** An interaction aggregate condition. */
  behavior: BehaviorConditionInput; consent?: never; inSegment?: never; not?: never; or?: never; recommended?: never; score?: never; }
  |  { and?: never; attribute?: never; behavior?: never;   /** A consent condition (purpose, channel, statuses). */
  consent: ConsentConditionInput; inSegment?: never; not?: never; or?: never; recommended?: never; score?: never; }
  |  { and?: never; attribute?: never; behavior?: never; consent?: never;   /** Member of this segment (global id); cycles are rejected. */
  inSegment: string; not?: never; or?: never; recommended?: never; score?: never; }
  |  { and?: never; attribute?: never; behavior?: never; consent?: never; inSegment?: never;   /** This does not hold. */
  not: SegmentRuleInput; or?: never; recommended?: never; score?: never; }
  |  { and?: never; attribute?: never; behavior?: never; consent?: never; inSegment?: never; not?: never;   /** Any of these holds. */
  or: Array<SegmentRuleInput>; recommended?: never; score?: never; }
  |  { and?: never; attribute?: never; behavior?: never; consent?: never; inSegment?: never; not?: never; or?: never;   /** A recommendation condition (a product within the first ranks). */
  recommended: RecommendedConditionInput; score?: never; }
  |  { and?: never; attribute?: never; behavior?: never; consent?: never; inSegment?: never; not?: never; or?: never; recommended?: never;   /** A score condition. */
  score: ScoreConditionInput; };

/** Whether a segment’s materialised membership reflects its current rule. */
export type SegmentStatus =
  /** The last full refresh finished after the last rule change; ingest keeps it exact since. */
  | 'FRESH'
  /** A full refresh is running. */
  | 'REFRESHING'
  /** The rule changed (or a segment it uses did) and a refresh is queued. */
  | 'STALE';

/** Why a webhook delivery to a connection was refused. */
export type WebhookRefusalReason =
  /** The connection is PAUSED. */
  | 'CONNECTION_PAUSED'
  /** The connection's connector plugin is not loaded. */
  | 'CONNECTOR_UNAVAILABLE'
  /** The connection's connector does not receive webhooks. */
  | 'NO_WEBHOOK'
  /** The delivery was authentic but its body could not be parsed or held invalid records: answered 400 WEBHOOK_PAYLOAD_INVALID with the fields at fault, and no record of it was stored. */
  | 'PAYLOAD_INVALID'
  /** The connector's verify refused the request (signature missing, wrong or outside the replay window) or failed on it. */
  | 'SIGNATURE_INVALID';

export type ConsoleConnectorsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleConnectorsQuery = { connectors: Array<{ id: string, displayName: string | null, description: string | null, version: string | null, source: string, status: ConnectorStatus, error: string | null, errorCode: string | null, pull: boolean, push: boolean, configSchema: unknown }> };

export type ConsoleConnectionsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleConnectionsQuery = { connections: { totalCount: number, edges: Array<{ node: { id: string, name: string, connector: string, status: ConnectionStatus, lastError: string | null, lastRunAt: string | null, schedule: string | null, webhookPath: string | null, source: string, config: unknown, createdAt: string, refusedDeliveries: { count: number, lastReason: WebhookRefusalReason | null, lastRefusedAt: string | null }, runs: { edges: Array<{ node: { id: string, kind: ConnectorRunKind, status: ConnectorRunStatus, startedAt: string, finishedAt: string | null, received: number, accepted: number, rejected: number, duplicates: number, error: string | null } }> } } }> } };

export type ConsoleCreateConnectionMutationVariables = Exact<{
  input: CreateConnectionInput;
}>;


export type ConsoleCreateConnectionMutation = { createConnection: { id: string, name: string, connector: string, status: ConnectionStatus } };

export type ConsoleScoreModelsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleScoreModelsQuery = { scoreModels: Array<{ kind: ScoreKind, description: string, version: number, fittedAt: string | null, asOf: string | null, sampleSize: number | null, settings: unknown, parameters: unknown, diagnostics: unknown }> };

export type ConsoleRecommendationModelQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleRecommendationModelQuery = { recommendationModel: { version: number, fittedAt: string | null, settings: unknown, fitted: unknown, diagnostics: unknown } };

export type ConsoleRecomputeScoresMutationVariables = Exact<{
  kinds?: Array<ScoreKind> | ScoreKind | null | undefined;
}>;


export type ConsoleRecomputeScoresMutation = { recomputeScores: { id: string, status: RecomputeJobStatus, progress: number, kinds: Array<ScoreKind> } };

export type ConsoleRecomputeJobQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleRecomputeJobQuery = { recomputeJob: { id: string, status: RecomputeJobStatus, progress: number, kinds: Array<ScoreKind>, error: string | null, createdAt: string, finishedAt: string | null } | null };

export type ConsoleSegmentsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleSegmentsQuery = { segments: { totalCount: number, edges: Array<{ node: { id: string, name: string, kind: SegmentKind, status: SegmentStatus, size: number, refreshedAt: string | null } }> } };

export type ConsoleSegmentQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleSegmentQuery = { segment: { id: string, name: string, description: string | null, kind: SegmentKind, status: SegmentStatus, size: number, rule: unknown, createdAt: string, refreshedAt: string | null, sizeHistory: Array<{ recordedAt: string, size: number }> } | null };

export type ConsolePreviewSegmentQueryVariables = Exact<{
  rule: SegmentRuleInput;
}>;


export type ConsolePreviewSegmentQuery = { previewSegment: { count: number, sample: Array<{ id: string, displayName: string | null, kind: CustomerKind, identifiers: Array<{ type: string, value: string }> }> } };

export type ConsoleSegmentTemplatesQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleSegmentTemplatesQuery = { segmentTemplates: Array<{ key: string, name: string, description: string, rule: unknown }> };

export type ConsoleExplainMembershipQueryVariables = Exact<{
  segmentId: string;
  customerId: string;
}>;


export type ConsoleExplainMembershipQuery = { explainMembership: { isMember: boolean, matchesRule: boolean, memberSince: string | null, customer: { id: string, displayName: string | null }, conditions: Array<{ path: string, kind: SegmentConditionKind, holds: boolean, figure: unknown, description: string }> } | null };

export type ConsoleCreateSegmentMutationVariables = Exact<{
  input: SegmentInput;
}>;


export type ConsoleCreateSegmentMutation = { createSegment: { id: string, name: string, kind: SegmentKind, status: SegmentStatus, size: number } };

export type ConsoleCreateSegmentFromTemplateMutationVariables = Exact<{
  key: string;
  name?: string | null | undefined;
}>;


export type ConsoleCreateSegmentFromTemplateMutation = { createSegmentFromTemplate: { id: string, name: string } };

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

export const ConsoleConnectorsDocument = new TypedDocumentString(`
    query ConsoleConnectors {
  connectors {
    id
    displayName
    description
    version
    source
    status
    error
    errorCode
    pull
    push
    configSchema
  }
}
    `) as unknown as TypedDocumentString<ConsoleConnectorsQuery, ConsoleConnectorsQueryVariables>;
export const ConsoleConnectionsDocument = new TypedDocumentString(`
    query ConsoleConnections {
  connections(first: 200) {
    totalCount
    edges {
      node {
        id
        name
        connector
        status
        lastError
        lastRunAt
        schedule
        webhookPath
        source
        config
        createdAt
        refusedDeliveries {
          count
          lastReason
          lastRefusedAt
        }
        runs(first: 10) {
          edges {
            node {
              id
              kind
              status
              startedAt
              finishedAt
              received
              accepted
              rejected
              duplicates
              error
            }
          }
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleConnectionsQuery, ConsoleConnectionsQueryVariables>;
export const ConsoleCreateConnectionDocument = new TypedDocumentString(`
    mutation ConsoleCreateConnection($input: CreateConnectionInput!) {
  createConnection(input: $input) {
    id
    name
    connector
    status
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateConnectionMutation, ConsoleCreateConnectionMutationVariables>;
export const ConsoleScoreModelsDocument = new TypedDocumentString(`
    query ConsoleScoreModels {
  scoreModels {
    kind
    description
    version
    fittedAt
    asOf
    sampleSize
    settings
    parameters
    diagnostics
  }
}
    `) as unknown as TypedDocumentString<ConsoleScoreModelsQuery, ConsoleScoreModelsQueryVariables>;
export const ConsoleRecommendationModelDocument = new TypedDocumentString(`
    query ConsoleRecommendationModel {
  recommendationModel {
    version
    fittedAt
    settings
    fitted
    diagnostics
  }
}
    `) as unknown as TypedDocumentString<ConsoleRecommendationModelQuery, ConsoleRecommendationModelQueryVariables>;
export const ConsoleRecomputeScoresDocument = new TypedDocumentString(`
    mutation ConsoleRecomputeScores($kinds: [ScoreKind!]) {
  recomputeScores(kinds: $kinds) {
    id
    status
    progress
    kinds
  }
}
    `) as unknown as TypedDocumentString<ConsoleRecomputeScoresMutation, ConsoleRecomputeScoresMutationVariables>;
export const ConsoleRecomputeJobDocument = new TypedDocumentString(`
    query ConsoleRecomputeJob($id: ID!) {
  recomputeJob(id: $id) {
    id
    status
    progress
    kinds
    error
    createdAt
    finishedAt
  }
}
    `) as unknown as TypedDocumentString<ConsoleRecomputeJobQuery, ConsoleRecomputeJobQueryVariables>;
export const ConsoleSegmentsDocument = new TypedDocumentString(`
    query ConsoleSegments {
  segments(first: 500) {
    totalCount
    edges {
      node {
        id
        name
        kind
        status
        size
        refreshedAt
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleSegmentsQuery, ConsoleSegmentsQueryVariables>;
export const ConsoleSegmentDocument = new TypedDocumentString(`
    query ConsoleSegment($id: ID!) {
  segment(id: $id) {
    id
    name
    description
    kind
    status
    size
    rule
    createdAt
    refreshedAt
    sizeHistory(first: 500) {
      recordedAt
      size
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleSegmentQuery, ConsoleSegmentQueryVariables>;
export const ConsolePreviewSegmentDocument = new TypedDocumentString(`
    query ConsolePreviewSegment($rule: SegmentRuleInput!) {
  previewSegment(rule: $rule) {
    count
    sample {
      id
      displayName
      kind
      identifiers {
        type
        value
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ConsolePreviewSegmentQuery, ConsolePreviewSegmentQueryVariables>;
export const ConsoleSegmentTemplatesDocument = new TypedDocumentString(`
    query ConsoleSegmentTemplates {
  segmentTemplates {
    key
    name
    description
    rule
  }
}
    `) as unknown as TypedDocumentString<ConsoleSegmentTemplatesQuery, ConsoleSegmentTemplatesQueryVariables>;
export const ConsoleExplainMembershipDocument = new TypedDocumentString(`
    query ConsoleExplainMembership($segmentId: ID!, $customerId: ID!) {
  explainMembership(segmentId: $segmentId, customerId: $customerId) {
    isMember
    matchesRule
    memberSince
    customer {
      id
      displayName
    }
    conditions {
      path
      kind
      holds
      figure
      description
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleExplainMembershipQuery, ConsoleExplainMembershipQueryVariables>;
export const ConsoleCreateSegmentDocument = new TypedDocumentString(`
    mutation ConsoleCreateSegment($input: SegmentInput!) {
  createSegment(input: $input) {
    id
    name
    kind
    status
    size
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateSegmentMutation, ConsoleCreateSegmentMutationVariables>;
export const ConsoleCreateSegmentFromTemplateDocument = new TypedDocumentString(`
    mutation ConsoleCreateSegmentFromTemplate($key: String!, $name: String) {
  createSegmentFromTemplate(key: $key, name: $name) {
    id
    name
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateSegmentFromTemplateMutation, ConsoleCreateSegmentFromTemplateMutationVariables>;
export const ConsoleSessionDocument = new TypedDocumentString(`
    query ConsoleSession {
  customers(first: 1) {
    totalCount
  }
}
    `) as unknown as TypedDocumentString<ConsoleSessionQuery, ConsoleSessionQueryVariables>;
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

/** A customer’s decision for one purpose and channel. */
export type ConsentStatus =
  /** Consent denied. */
  | 'DENIED'
  /** Consent granted. */
  | 'GRANTED'
  /** Consent withdrawn. */
  | 'WITHDRAWN';

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

/** A condition on an interaction property, e.g. { path: "sku", op: EQ, value: "A-1" }. */
export type PropertyConditionInput = {
  /** How to compare. */
  op: ComparisonOp;
  /** Dot path into the interaction’s properties; a personal property (RAPPORT_PERSONAL_PROPERTIES, at any depth) needs pii:read. */
  path: string;
  /** As for attribute conditions on traits. */
  value?: unknown;
};

/** What a recommendation is based on. */
export type RecommendationBasis =
  /** The customer's own products, through the fitted model. */
  | 'HISTORY'
  /** Nothing from the model (no product history yet, or nothing new that its products point to): the products most popular in the customer’s organisation. */
  | 'ORGANIZATION'
  /** Nothing from the model, no organisation and no segment with product history: the products most popular overall. */
  | 'POPULAR'
  /** Nothing from the model, and no organisation with product history: the products most popular in the smallest of the customer’s segments that has a popular list (one the caller may see the customer’s membership of). */
  | 'SEGMENT';

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

/** A change of membership. */
export type SegmentMembershipEventKind =
  /** The customer joined the segment. */
  | 'ENTERED'
  /** The customer left the segment. */
  | 'EXITED';

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
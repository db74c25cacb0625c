import { defaultFieldResolver, GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { maskRule } from '../segments/rules/personal';
import type { ConditionExplanation } from '../segments/segment.service';
import { MASK, maskText, type PersonalDataPolicy } from './personal-data';
import { hasScope, type Principal } from './scopes';

export { MASK, maskText } from './personal-data';

/**
 * The one place that says how every field of the schema that could carry
 * personal data keeps it from callers without `pii:read`. A test
 * (test/security/schema-walk.test.ts) walks the built schema and fails on any
 * field, argument or input field that could carry or select by personal data
 * and is not listed here, and probes every entry that is not impersonal with a
 * key lacking `pii:read`.
 *
 * What must be listed:
 * - every field of an object type, except those whose type is Int, Float,
 *   Boolean, ID, DateTime or an enum (or a list of them) and that take no
 *   arguments, and the structural fields of connections (`edges`,
 *   `pageInfo`, `node`), whose types are walked themselves;
 * - every argument of every field;
 * - every input field reachable from the arguments of reads (queries and
 *   object fields) whose type is String, JSON or an input object, and every
 *   value of the enums reachable from them.
 */

type MaskContext = { personalData: PersonalDataPolicy };
/** Masks a value for a caller without `pii:read`; `source` is the parent object. */
export type Mask = (value: unknown, ctx: MaskContext, source: unknown) => unknown;

/** How a field's value is kept from callers without `pii:read`. */
export type OutputProtection =
  /** Masked: the resolver is wrapped by {@link applyPersonalDataMasking}. */
  | { kind: 'masked'; mask: Mask }
  /** The field requires `pii:read` itself (requirements.ts). */
  | { kind: 'piiOnly' }
  /** Relates customers to segments: the members of a segment over personal data are shown only with `pii:read` (FORBIDDEN, or left out of lists). */
  | { kind: 'membership' }
  /** A page cursor, sealed with AES-256-GCM (src/infra/cursor.ts): opaque and tamper-proof. */
  | { kind: 'cursor' }
  /** Holds no personal data, for the reason given. */
  | { kind: 'impersonal'; why: string };

/**
 * What an argument or input field selects by.
 * - `personal`: can name personal data (a filter, ordering, rule or lookup on
 *   it); refused with FORBIDDEN without `pii:read`, or made unable to see it.
 * - `cursor`: a sealed cursor; anything else answers INVALID_CURSOR.
 * - `write`: the input of a write (what writes reveal is the write paths' concern).
 * - `impersonal`: cannot select by personal data.
 */
export type InputProtection = 'personal' | 'cursor' | 'write' | 'impersonal';

export interface FieldProtection {
  output?: OutputProtection;
  args?: Record<string, InputProtection>;
}

/** Score settings as a caller without `pii:read` sees them: the values compared by personal conditions of the rules they hold (CHURN_PROPENSITY's population and outcome) masked. */
function maskModelRules(settings: unknown, policy: PersonalDataPolicy): unknown {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) return settings;
  const out: Record<string, unknown> = { ...settings };
  for (const key of ['population', 'outcome']) if (out[key]) out[key] = maskRule(out[key], policy);
  return out;
}

const impersonal = (why: string): FieldProtection => ({ output: { kind: 'impersonal', why } });
const masked = (mask: Mask): FieldProtection => ({ output: { kind: 'masked', mask } });

/**
 * Masks what a model says about a trait it uses as a feature (CHURN_PROPENSITY):
 * in any object naming a personal `trait`, the `level` (a value of the trait),
 * the `levels`, and a customer's `contribution` (from which the value could be
 * worked back), with the `feature` name rebuilt without the value. An
 * explanation that masked one also masks its `rest`, which would otherwise
 * give the masked contribution back by subtraction.
 */
export function maskTraitFigures(value: unknown, policy: PersonalDataPolicy, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((item) => maskTraitFigures(item, policy, depth + 1));
  const object = value as Record<string, unknown>;
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(object).map(([k, v]) => [k, maskTraitFigures(v, policy, depth + 1)]));
  if (typeof object.trait === 'string' && policy.traits.isPersonalPath(object.trait)) {
    if ('level' in object) {
      out.level = MASK;
      out.feature = `${object.trait} = ${MASK}`;
    }
    if (Array.isArray(object.levels)) out.levels = object.levels.map(() => MASK);
    if ('contribution' in object) out.contribution = MASK;
  }
  const listed = [...(Array.isArray(out.up) ? out.up : []), ...(Array.isArray(out.down) ? out.down : [])] as Record<string, unknown>[];
  if ('rest' in out && listed.some((t) => t?.contribution === MASK)) out.rest = MASK;
  return out;
}
const CURSOR: FieldProtection = { output: { kind: 'cursor' } };
const PAGE_ARGS: Record<string, InputProtection> = { first: 'impersonal', after: 'cursor', last: 'impersonal', before: 'cursor' };
const connection = (why: string, args: Record<string, InputProtection> = {}): FieldProtection => ({
  output: { kind: 'impersonal', why },
  args: { ...PAGE_ARGS, ...args },
});

const CUSTOMER = 'a customer: its personal fields are masked on the Customer type';
const CUSTOMERS = 'customers: their personal fields are masked on the Customer type';
const OPERATOR = 'operator text (names, codes, settings) chosen by whoever configured Rapport, not about customers';
const ROW_ERRORS = 'errors of a write, naming the field at fault';
const AUDIT = 'the audit trail: variables are redacted when written (audit.ts)';
const CONNECTOR = 'connector configuration and diagnostics (connectors:admin; secrets are never returned)';
const SCORES = 'score figures and model settings: numbers and labels, not personal data';
const PRODUCTS = 'product names and model figures (a product property named personal data is refused as productProperty)';
const QUEUE_JOBS = 'queued jobs by name, state and failure reason (admin); their data (customer ids) is never shown';
const WEBHOOK =
  'webhook endpoint configuration and delivery diagnostics (webhooks:admin): payloads carry ids and figures, never personal data; secrets are never returned';
const ALERT_RULE = 'an alert rule: operator text and figures; the segment it watches is protected where its alerts are read';
const SEGMENT = 'a segment definition: name and description are operator text; its members are protected on Segment.members';

/** Every output field and argument of the schema that could carry or select by personal data, with its protection. */
export const FIELD_PROTECTION: Record<string, FieldProtection> = {
  // Customers
  'Customer.displayName': masked((v) => maskText(v)),
  'Customer.traits': masked((v, ctx) => ctx.personalData.traits.mask(v)),
  'Identifier.value': masked((v) => maskText(v)),
  'Identifier.type': impersonal('the kind of identifier (email, phone, a namespace)'),
  'Customer.identifiers': impersonal('identifiers: their values are masked on Identifier.value'),
  'Customer.lifecycleStage': impersonal('a stage of the relationship (lead, customer, churned)'),
  'Customer.owner': impersonal('the relationship manager, a member of staff'),
  'Customer.organization': impersonal(CUSTOMER),
  'Customer.members': connection(CUSTOMERS),
  'Customer.stats': impersonal('aggregates: counts, dates and sums'),
  'CustomerStats.channels': impersonal('interaction counts per channel'),
  'Customer.consents': impersonal('consent decisions: purpose, channel, status and where they were recorded'),
  'Consent.purpose': impersonal('what the data is used for'),
  'Consent.channel': impersonal('a channel name'),
  'Consent.source': impersonal('where a decision was recorded (form, connector)'),
  'Customer.scores': impersonal(SCORES),
  'Customer.score': { output: { kind: 'impersonal', why: SCORES }, args: { kind: 'impersonal' } },
  'Customer.interactions': connection('interactions: their properties are masked on Interaction.properties', { filter: 'impersonal', orderBy: 'impersonal' }),
  'Customer.segments': { output: { kind: 'membership' } },
  'Customer.recommendations': { output: { kind: 'impersonal', why: PRODUCTS }, args: { first: 'impersonal' } },
  'ProductRecommendation.product': impersonal(PRODUCTS),
  'ProductRecommendation.because': impersonal(PRODUCTS),
  'RecommendationReason.product': impersonal(PRODUCTS),
  'RecommendationReason.text': masked((v, _ctx, source) => (source as { maskedText?: string }).maskedText ?? v),
  'RecommendationReason.organization': impersonal(CUSTOMER),
  'RecommendationReason.segmentName': impersonal(
    `${SEGMENT}; only a segment the caller may see the customer's membership of is used (segments:read, and pii:read for one over personal data)`,
  ),
  'SimilarProduct.product': impersonal(PRODUCTS),
  'RecommendationModel.settings': impersonal(PRODUCTS),
  'RecommendationModel.fitted': impersonal(PRODUCTS),
  'RecommendationModel.diagnostics': impersonal(PRODUCTS),
  'Customer.segmentHistory': { output: { kind: 'membership' }, args: { first: 'impersonal' } },
  'CustomerEdge.cursor': CURSOR,
  // Interactions
  'Interaction.properties': masked((v, ctx) => ctx.personalData.properties.mask(v)),
  'Interaction.customer': impersonal(CUSTOMER),
  'Interaction.channel': impersonal('a channel name'),
  'Interaction.type': impersonal('an interaction type'),
  'Interaction.currency': impersonal('an ISO 4217 code'),
  'Interaction.source': impersonal('the delivering system'),
  'Interaction.externalId': impersonal('the id of the interaction in its source system'),
  'InteractionEdge.cursor': CURSOR,
  // Segments
  'Segment.rule': masked((v, ctx) => maskRule(v, ctx.personalData)),
  'Segment.name': impersonal(SEGMENT),
  'Segment.description': impersonal(SEGMENT),
  'Segment.members': { output: { kind: 'membership' }, args: PAGE_ARGS },
  'Segment.history': { output: { kind: 'membership' }, args: { first: 'impersonal' } },
  'Segment.sizeHistory': { output: { kind: 'impersonal', why: 'segment sizes over time: aggregates' }, args: { first: 'impersonal' } },
  'SegmentEdge.cursor': CURSOR,
  'ProductAudienceEdge.cursor': CURSOR,
  'SegmentMembershipEvent.customer': impersonal('reached only through Segment.history and Customer.segmentHistory, which protect membership'),
  'SegmentMembershipEvent.segment': impersonal(SEGMENT),
  'SegmentPreview.sample': impersonal(`${CUSTOMERS}; the rule previewed was checked (previewSegment)`),
  'MembershipExplanation.segment': impersonal(SEGMENT),
  'MembershipExplanation.customer': impersonal(CUSTOMER),
  'MembershipExplanation.conditions': impersonal('conditions: figures and descriptions are masked on SegmentConditionExplanation'),
  'SegmentConditionExplanation.figure': masked((_v, _ctx, source) => (source as ConditionExplanation).masked.figure),
  'SegmentConditionExplanation.description': masked((_v, _ctx, source) => (source as ConditionExplanation).masked.description),
  'SegmentConditionExplanation.path': impersonal('where a condition sits in the rule'),
  'SegmentTemplate.key': impersonal('templates are defined in code over scores'),
  'SegmentTemplate.name': impersonal('templates are defined in code over scores'),
  'SegmentTemplate.description': impersonal('templates are defined in code over scores'),
  'SegmentTemplate.rule': impersonal('templates are defined in code over scores'),
  'SegmentMembersPayload.segment': impersonal(SEGMENT),
  'SegmentMembersPayload.results': impersonal(ROW_ERRORS),
  'SegmentMemberResult.customer': impersonal(CUSTOMER),
  'SegmentMemberResult.error': impersonal(ROW_ERRORS),
  'RecomputeJob.segment': impersonal(SEGMENT),
  'RecomputeJob.error': impersonal('why a background job failed'),
  // Scores
  'Score.components': masked((v, ctx) => maskTraitFigures(v, ctx.personalData)),
  'Score.label': impersonal(SCORES),
  'Score.history': { output: { kind: 'impersonal', why: SCORES }, args: { first: 'impersonal' } },
  'ScorePoint.components': masked((v, ctx) => maskTraitFigures(v, ctx.personalData)),
  'ScorePoint.label': impersonal(SCORES),
  'ScoreModel.description': impersonal(SCORES),
  'ScoreModel.diagnostics': masked((v, ctx) => maskTraitFigures(v, ctx.personalData)),
  'ScoreModel.parameters': masked((v, ctx) => maskTraitFigures(v, ctx.personalData)),
  'ScoreModel.settings': masked((v, ctx) => maskModelRules(v, ctx.personalData)),
  // Connectors
  'Connection.config': impersonal(CONNECTOR),
  'Connection.defaultCountry': impersonal(CONNECTOR),
  'Connection.source': impersonal(CONNECTOR),
  'Connection.connector': impersonal(CONNECTOR),
  'Connection.lastError': impersonal(CONNECTOR),
  'Connection.name': impersonal(CONNECTOR),
  'Connection.refusedDeliveries': impersonal('counts and reason codes of refused webhook deliveries; never the body'),
  'Connection.schedule': impersonal(CONNECTOR),
  'Connection.state': impersonal(CONNECTOR),
  'Connection.webhookPath': impersonal(CONNECTOR),
  'Connection.runs': connection(CONNECTOR),
  'ConnectionEdge.cursor': CURSOR,
  'ConnectorDefinition.configSchema': impersonal(CONNECTOR),
  'ConnectorDefinition.description': impersonal(CONNECTOR),
  'ConnectorDefinition.displayName': impersonal(CONNECTOR),
  'ConnectorDefinition.error': impersonal(CONNECTOR),
  'ConnectorDefinition.errorCode': impersonal(CONNECTOR),
  'ConnectorDefinition.id': impersonal(CONNECTOR),
  'ConnectorDefinition.source': impersonal(CONNECTOR),
  'ConnectorDefinition.version': impersonal(CONNECTOR),
  'ConnectorRun.details': impersonal(CONNECTOR),
  'ConnectorRun.error': impersonal(CONNECTOR),
  'ConnectorRun.errors': impersonal(CONNECTOR),
  'ConnectorRunEdge.cursor': CURSOR,
  'ConnectionTest.code': impersonal(CONNECTOR),
  'ConnectionTest.connection': impersonal(CONNECTOR),
  'ConnectionTest.field': impersonal(CONNECTOR),
  'ConnectionTest.message': impersonal(CONNECTOR),
  'ConnectorRunError.code': impersonal(CONNECTOR),
  'ConnectorRunError.message': impersonal(CONNECTOR),
  'ConnectorRunError.path': impersonal(CONNECTOR),
  // Access and audit
  'ApiKey.createdBy': impersonal(OPERATOR),
  'ApiKey.name': impersonal(OPERATOR),
  'ApiKey.prefix': impersonal(OPERATOR),
  'ApiKey.scopes': impersonal(OPERATOR),
  'CreatedApiKey.apiKey': impersonal(OPERATOR),
  'CreatedApiKey.key': impersonal('the new key itself, shown once to the admin who created it'),
  'AuditEntry.actor': impersonal(AUDIT),
  'AuditEntry.actorKind': impersonal(AUDIT),
  'AuditEntry.error': impersonal(AUDIT),
  'AuditEntry.operation': impersonal(AUDIT),
  'AuditEntry.records': impersonal(AUDIT),
  'AuditEntry.result': impersonal(AUDIT),
  'AuditEntry.variables': impersonal(AUDIT),
  'AuditPage.entries': impersonal(AUDIT),
  'AuditPage.endCursor': CURSOR,
  'PageInfo.startCursor': CURSOR,
  'PageInfo.endCursor': CURSOR,
  // Queues (admin)
  'Queue.counts': impersonal('job counts by state'),
  'Queue.failedJobs': { output: { kind: 'impersonal', why: QUEUE_JOBS }, args: { first: 'impersonal' } },
  'QueueJob.id': impersonal('a job id chosen by the queue or by Rapport'),
  'QueueJob.name': impersonal('the kind of job'),
  'QueueJob.state': impersonal('a queue state name'),
  'QueueJob.failedReason': impersonal('why a background job failed (admin only; job data carries ids, never personal values)'),
  // Results of writes
  'RowError.code': impersonal(ROW_ERRORS),
  'RowError.field': impersonal(ROW_ERRORS),
  'RowError.message': impersonal(ROW_ERRORS),
  'RowResult.error': impersonal(ROW_ERRORS),
  'RowResult.errors': impersonal(ROW_ERRORS),
  'RecordInteractionsPayload.results': impersonal(ROW_ERRORS),
  'UpsertCustomersPayload.results': impersonal(ROW_ERRORS),
  'UpsertCustomerResult.customer': impersonal(CUSTOMER),
  'UpsertCustomerResult.error': impersonal(ROW_ERRORS),
  'UpsertCustomerResult.errors': impersonal(ROW_ERRORS),
  'SetConsentsPayload.results': impersonal(ROW_ERRORS),
  'ConsentResult.errors': impersonal(ROW_ERRORS),
  'ConsentResult.status': impersonal(ROW_ERRORS),
  'ErasureReceipt.tables': impersonal('row counts per table of an erasure'),
  'ErasureTableCount.table': impersonal('a table name'),
  'CustomerMerge.survivor': impersonal(CUSTOMER),
  'CustomerMerge.actor': impersonal('who merged: an API key, a token subject or the identity policy'),
  'CustomerMerge.unmergedBy': impersonal('who undid the merge: an API key or a token subject'),
  'CustomerMerge.reason': masked((v) => maskText(v)),
  'IdentityPolicies.policies': impersonal(OPERATOR),
  'IdentityPolicies.uniqueTypes': impersonal(OPERATOR),
  'Query.identityPolicies': impersonal(OPERATOR),
  'Query.customerMerge': { output: { kind: 'impersonal', why: 'a merge: ids, times and who; its reason is masked' }, args: { id: 'impersonal' } },
  'Query.customerMerges': {
    output: { kind: 'impersonal', why: 'merges: ids, times and who; their reason is masked' },
    args: { customerId: 'impersonal', first: 'impersonal' },
  },
  'Mutation.mergeCustomers': {
    output: { kind: 'impersonal', why: 'a merge: ids, times and who; its reason is masked' },
    args: { survivorId: 'impersonal', mergedIds: 'impersonal', survivorship: 'write', reason: 'write' },
  },
  'Mutation.unmergeCustomer': { output: { kind: 'impersonal', why: 'a merge: ids, times and who; its reason is masked' }, args: { mergeId: 'impersonal' } },
  'Mutation.updateIdentityPolicies': { output: { kind: 'impersonal', why: OPERATOR }, args: { policies: 'write' } },
  // Queries
  'Query.node': { output: { kind: 'impersonal', why: 'any record: personal fields are masked on their types' }, args: { id: 'impersonal' } },
  'Query.customer': { output: { kind: 'impersonal', why: CUSTOMER }, args: { id: 'impersonal', identifier: 'personal' } },
  'Query.customers': connection(CUSTOMERS, { filter: 'personal', orderBy: 'personal' }),
  'Query.interactions': connection('interactions: their properties are masked on Interaction.properties', { filter: 'impersonal', orderBy: 'impersonal' }),
  'Query.exportCustomer': { output: { kind: 'piiOnly' }, args: { id: 'impersonal' } },
  'Query.segments': connection(SEGMENT),
  'Query.segment': { output: { kind: 'impersonal', why: SEGMENT }, args: { id: 'impersonal' } },
  'Query.previewSegment': { output: { kind: 'impersonal', why: 'a count and a sample of customers (masked)' }, args: { rule: 'personal' } },
  'Query.explainMembership': { output: { kind: 'membership' }, args: { segmentId: 'impersonal', customerId: 'impersonal' } },
  'Query.segmentTemplates': impersonal('templates are defined in code over scores'),
  'Query.scoreModels': impersonal(SCORES),
  'Query.scoreDistribution': { output: { kind: 'impersonal', why: SCORES }, args: { kind: 'impersonal', buckets: 'impersonal' } },
  'Query.recommendationModel': impersonal(PRODUCTS),
  'Query.productAudience': connection(CUSTOMERS, { product: 'impersonal' }),
  'Query.similarProducts': { output: { kind: 'impersonal', why: PRODUCTS }, args: { product: 'impersonal', first: 'impersonal' } },
  'Query.recomputeJob': { output: { kind: 'impersonal', why: 'a background job' }, args: { id: 'impersonal' } },
  'Query.connectors': impersonal(CONNECTOR),
  'Query.connections': connection(CONNECTOR),
  'Query.connection': { output: { kind: 'impersonal', why: CONNECTOR }, args: { id: 'impersonal' } },
  'Query.connectorRun': { output: { kind: 'impersonal', why: CONNECTOR }, args: { id: 'impersonal' } },
  'Query.auditLog': { output: { kind: 'impersonal', why: AUDIT }, args: { filter: 'impersonal', first: 'impersonal', after: 'cursor' } },
  'Query.apiKeys': impersonal(OPERATOR),
  'Query.queues': impersonal(QUEUE_JOBS),
  // Mutations: their inputs are writes, except the rules segments are built on.
  'Mutation.createSegment': { output: { kind: 'impersonal', why: SEGMENT }, args: { input: 'personal' } },
  'Mutation.updateSegment': { output: { kind: 'impersonal', why: SEGMENT }, args: { id: 'impersonal', input: 'personal' } },
  'Mutation.createSegmentFromTemplate': { output: { kind: 'impersonal', why: SEGMENT }, args: { key: 'impersonal', name: 'write', description: 'write' } },
  'Mutation.deleteSegment': { output: { kind: 'impersonal', why: SEGMENT }, args: { id: 'impersonal' } },
  'Mutation.refreshSegment': { output: { kind: 'impersonal', why: 'a background job' }, args: { id: 'impersonal' } },
  'Mutation.addToSegment': { output: { kind: 'impersonal', why: ROW_ERRORS }, args: { segmentId: 'impersonal', customers: 'write' } },
  'Mutation.removeFromSegment': { output: { kind: 'impersonal', why: ROW_ERRORS }, args: { segmentId: 'impersonal', customers: 'write' } },
  'Mutation.upsertCustomers': { output: { kind: 'impersonal', why: ROW_ERRORS }, args: { input: 'write', mode: 'impersonal' } },
  'Mutation.recordInteractions': { output: { kind: 'impersonal', why: ROW_ERRORS }, args: { input: 'write', mode: 'impersonal' } },
  'Mutation.setConsents': { output: { kind: 'impersonal', why: ROW_ERRORS }, args: { input: 'write', mode: 'impersonal' } },
  'Mutation.eraseCustomer': { output: { kind: 'impersonal', why: 'row counts per table of an erasure' }, args: { id: 'impersonal' } },
  'Mutation.liftErasureTombstone': { args: { identifier: 'write' } },
  'Mutation.recomputeScores': { output: { kind: 'impersonal', why: 'a background job' }, args: { customerIds: 'impersonal', kinds: 'impersonal' } },
  'Mutation.updateRecommendationModel': { output: { kind: 'impersonal', why: PRODUCTS }, args: { settings: 'write' } },
  'Mutation.recomputeRecommendations': impersonal('a background job'),
  'Mutation.updateScoreModel': { output: { kind: 'impersonal', why: SCORES }, args: { kind: 'impersonal', settings: 'write' } },
  'Mutation.createConnection': { output: { kind: 'impersonal', why: CONNECTOR }, args: { input: 'write' } },
  'Mutation.updateConnection': { output: { kind: 'impersonal', why: CONNECTOR }, args: { id: 'impersonal', input: 'write' } },
  'Mutation.deleteConnection': { output: { kind: 'impersonal', why: CONNECTOR }, args: { id: 'impersonal' } },
  'Mutation.runConnection': { output: { kind: 'impersonal', why: CONNECTOR }, args: { id: 'impersonal' } },
  'Mutation.testConnection': { output: { kind: 'impersonal', why: CONNECTOR }, args: { id: 'impersonal' } },
  'Mutation.createApiKey': { output: { kind: 'impersonal', why: OPERATOR }, args: { name: 'write', scopes: 'write', expiresAt: 'write' } },
  'Mutation.revokeApiKey': { output: { kind: 'impersonal', why: OPERATOR }, args: { id: 'impersonal' } },
  'Mutation.retryJob': { output: { kind: 'impersonal', why: QUEUE_JOBS }, args: { queue: 'impersonal', id: 'impersonal' } },
  'Mutation.removeJob': { output: { kind: 'impersonal', why: QUEUE_JOBS }, args: { queue: 'impersonal', id: 'impersonal' } },
  // Subscriptions: each event is read through the same types as queries, with the subscriber's scopes.
  'Subscription.customerChanged': { output: { kind: 'impersonal', why: CUSTOMER }, args: { id: 'impersonal' } },
  'Subscription.interactionRecorded': {
    output: { kind: 'impersonal', why: 'interactions: their properties are masked on Interaction.properties' },
    args: { customerId: 'impersonal' },
  },
  'Subscription.segmentMembershipChanged': { output: { kind: 'membership' }, args: { segmentId: 'impersonal' } },
  'Subscription.scoreChanged': { output: { kind: 'impersonal', why: SCORES }, args: { kind: 'impersonal', filter: 'impersonal' } },
  'Subscription.recomputeJobUpdated': { output: { kind: 'impersonal', why: 'a background job' }, args: { id: 'impersonal' } },
  'CustomerChange.customer': impersonal(CUSTOMER),
  'ScoreChange.customer': impersonal(CUSTOMER),
  'ScoreChange.label': impersonal(SCORES),
  'ScoreChange.previousLabel': impersonal(SCORES),
  // Outbound webhooks
  'Query.webhookEndpoints': impersonal(WEBHOOK),
  'Query.webhookEventTypes': impersonal(WEBHOOK),
  'Query.webhookDeliveries': connection(WEBHOOK, { endpointId: 'impersonal', status: 'impersonal' }),
  'WebhookEndpoint.url': impersonal(WEBHOOK),
  'WebhookEndpoint.description': impersonal(WEBHOOK),
  'WebhookEndpoint.events': impersonal(WEBHOOK),
  'WebhookEndpoint.filter': impersonal(WEBHOOK),
  'WebhookEndpoint.disabledReason': impersonal(WEBHOOK),
  'WebhookDelivery.eventType': impersonal(WEBHOOK),
  'WebhookDelivery.payload': impersonal(WEBHOOK),
  'WebhookDelivery.lastError': impersonal(WEBHOOK),
  'WebhookDelivery.attempts': impersonal(WEBHOOK),
  'WebhookDeliveryEdge.cursor': CURSOR,
  'WebhookAttempt.responseBody': impersonal("the start of the operator's receiver's answer to an id-only payload"),
  'WebhookAttempt.error': impersonal(WEBHOOK),
  'CreatedWebhookEndpoint.endpoint': impersonal(WEBHOOK),
  'CreatedWebhookEndpoint.secret': impersonal('a signing secret Rapport generated, answered once to the operator who asked for it'),
  'Mutation.createWebhookEndpoint': { output: { kind: 'impersonal', why: WEBHOOK }, args: { input: 'write' } },
  'Mutation.updateWebhookEndpoint': { output: { kind: 'impersonal', why: WEBHOOK }, args: { id: 'impersonal', input: 'write' } },
  'Mutation.deleteWebhookEndpoint': { output: { kind: 'impersonal', why: WEBHOOK }, args: { id: 'impersonal' } },
  'Mutation.replayWebhookDelivery': { output: { kind: 'impersonal', why: WEBHOOK }, args: { id: 'impersonal' } },
  'Mutation.replayWebhookDeliveries': {
    output: { kind: 'impersonal', why: WEBHOOK },
    args: { endpointId: 'impersonal', from: 'impersonal', to: 'impersonal', status: 'impersonal' },
  },
  // Alerts: an alert ties a customer to the segment it entered, so alerts on segments over personal data are membership
  'Query.alerts': { output: { kind: 'membership' }, args: { ...PAGE_ARGS, status: 'impersonal', owner: 'impersonal', ruleId: 'impersonal' } },
  'Customer.alerts': { output: { kind: 'membership' }, args: { ...PAGE_ARGS, status: 'impersonal' } },
  'Subscription.alertFired': { output: { kind: 'membership' }, args: { ruleId: 'impersonal', owner: 'impersonal' } },
  'Mutation.acknowledgeAlert': { output: { kind: 'membership' }, args: { id: 'impersonal', owner: 'write' } },
  'Mutation.resolveAlert': { output: { kind: 'membership' }, args: { id: 'impersonal', owner: 'write' } },
  'Mutation.createAlertRule': { output: { kind: 'impersonal', why: ALERT_RULE }, args: { input: 'personal' } },
  'Mutation.updateAlertRule': { output: { kind: 'impersonal', why: ALERT_RULE }, args: { id: 'impersonal', input: 'personal' } },
  'Mutation.deleteAlertRule': { output: { kind: 'impersonal', why: ALERT_RULE }, args: { id: 'impersonal' } },
  'Mutation.createAlertRuleFromTemplate': { output: { kind: 'impersonal', why: ALERT_RULE }, args: { key: 'impersonal', input: 'write' } },
  'Query.alertRules': impersonal(ALERT_RULE),
  'Query.alertTemplates': impersonal('templates are defined in code over scores and activity'),
  'AlertEdge.cursor': CURSOR,
  'Alert.customer': impersonal(CUSTOMER),
  'Alert.rule': impersonal(ALERT_RULE),
  'Alert.ruleName': impersonal(ALERT_RULE),
  'Alert.segment': impersonal(SEGMENT),
  'Alert.owner': impersonal('the member of staff who works the alert'),
  'Alert.acknowledgedBy': impersonal('the key or token subject of a member of staff'),
  'Alert.resolvedBy': impersonal('the key or token subject of a member of staff'),
  'AlertRule.name': impersonal(ALERT_RULE),
  'AlertRule.description': impersonal(ALERT_RULE),
  'AlertRule.owner': impersonal(ALERT_RULE),
  'AlertRule.segment': impersonal(SEGMENT),
  'AlertRule.template': impersonal(ALERT_RULE),
  'AlertTemplate.key': impersonal('templates are defined in code over scores and activity'),
  'AlertTemplate.name': impersonal('templates are defined in code over scores and activity'),
  'AlertTemplate.description': impersonal('templates are defined in code over scores and activity'),
  'AlertTemplate.parameters': impersonal('templates are defined in code over scores and activity'),
  'AlertTemplateParameter.name': impersonal('templates are defined in code over scores and activity'),
  'AlertTemplateParameter.description': impersonal('templates are defined in code over scores and activity'),
  // Identity matching: which customers look alike is shown; how their personal data compared is masked.
  'DuplicatePair.a': impersonal(CUSTOMER),
  'DuplicatePair.b': impersonal(CUSTOMER),
  'DuplicatePair.status': impersonal('a review decision: OPEN, DISMISSED or MERGED'),
  'DuplicatePair.evidence': masked((v) => (Array.isArray(v) ? v.map((e: { field: string }) => ({ field: e.field, level: MASK, weight: null })) : v)),
  'MatchEvidence.field': impersonal('the name of a compared field, from the settings'),
  'MatchEvidence.level': impersonal('masked on DuplicatePair.evidence'),
  'DuplicatePairEdge.cursor': CURSOR,
  'DuplicateCluster.customers': impersonal(CUSTOMERS),
  'IdentityMatching.settings': impersonal(OPERATOR),
  'IdentityMatching.models': impersonal('fitted probabilities per field and agreement level: figures about the whole base'),
  'IdentityMatching.lastRun': impersonal('counts and timings of a run, and customer ids of automatic merges'),
  'Query.identityMatching': impersonal(OPERATOR),
  'Query.duplicatePairs': connection(CUSTOMERS, { minScore: 'impersonal' }),
  'Query.duplicateClusters': { output: { kind: 'impersonal', why: CUSTOMERS }, args: { minScore: 'impersonal', first: 'impersonal' } },
  'Mutation.updateIdentityMatching': { output: { kind: 'impersonal', why: OPERATOR }, args: { settings: 'write' } },
  'Mutation.findDuplicates': impersonal('a background job'),
  'Mutation.dismissDuplicatePair': {
    output: { kind: 'impersonal', why: 'a pair: its evidence is masked on DuplicatePair.evidence' },
    args: { a: 'impersonal', b: 'impersonal' },
  },
};

/**
 * Input fields (and enum values, as `Enum.VALUE`, or whole enums as `Enum`)
 * reachable from the arguments of reads, and what they select by.
 */
export const INPUT_PROTECTION: Record<string, InputProtection> = {
  // Customer filters and orderings
  'CustomerFilter.and': 'impersonal',
  'CustomerFilter.or': 'impersonal',
  'CustomerFilter.not': 'impersonal',
  'CustomerFilter.id': 'impersonal',
  'CustomerFilter.kind': 'impersonal',
  'CustomerFilter.displayName': 'personal',
  'CustomerFilter.lifecycleStage': 'impersonal',
  'CustomerFilter.owner': 'impersonal',
  'CustomerFilter.organizationId': 'impersonal',
  'CustomerFilter.createdAt': 'impersonal',
  'CustomerFilter.updatedAt': 'impersonal',
  'CustomerFilter.identifier': 'personal',
  'CustomerFilter.traits': 'personal',
  'CustomerFilter.interactionCount': 'impersonal',
  'CustomerFilter.transactionCount': 'impersonal',
  'CustomerFilter.transactionValue': 'impersonal',
  'CustomerFilter.lastSeenAt': 'impersonal',
  'CustomerFilter.score': 'impersonal',
  'TraitFilter.path': 'personal',
  'TraitFilter.eq': 'personal',
  'TraitFilter.ne': 'personal',
  'TraitFilter.in': 'personal',
  'TraitFilter.contains': 'personal',
  'IdentifierInput.type': 'impersonal',
  'IdentifierInput.value': 'personal',
  CustomerKind: 'impersonal',
  'CustomerOrder.field': 'personal',
  'CustomerOrderField.DISPLAY_NAME': 'personal',
  'CustomerOrderField.ID': 'impersonal',
  'CustomerOrderField.CREATED_AT': 'impersonal',
  'CustomerOrderField.UPDATED_AT': 'impersonal',
  'CustomerOrderField.LAST_SEEN_AT': 'impersonal',
  'CustomerOrderField.INTERACTION_COUNT': 'impersonal',
  'CustomerOrderField.TRANSACTION_VALUE': 'impersonal',
  'CustomerOrderField.SCORE': 'impersonal',
  SortDirection: 'impersonal',
  WebhookDeliveryStatus: 'impersonal',
  ScoreKind: 'impersonal',
  'ScoreFilter.labelIn': 'impersonal',
  'ScoreFilter.value': 'impersonal',
  // Operators of a filter: which data they read is decided by the field they sit under.
  'StringFilter.eq': 'impersonal',
  'StringFilter.ne': 'impersonal',
  'StringFilter.in': 'impersonal',
  'StringFilter.contains': 'impersonal',
  'StringFilter.startsWith': 'impersonal',
  // Interaction filters and orderings: channel, type, source and ids (properties cannot be filtered on here)
  'InteractionFilter.and': 'impersonal',
  'InteractionFilter.or': 'impersonal',
  'InteractionFilter.not': 'impersonal',
  'InteractionFilter.id': 'impersonal',
  'InteractionFilter.customerId': 'impersonal',
  'InteractionFilter.channel': 'impersonal',
  'InteractionFilter.type': 'impersonal',
  'InteractionFilter.direction': 'impersonal',
  'InteractionFilter.source': 'impersonal',
  'InteractionFilter.externalId': 'impersonal',
  'InteractionFilter.occurredAt': 'impersonal',
  'InteractionFilter.value': 'impersonal',
  'InteractionOrder.field': 'impersonal',
  InteractionOrderField: 'impersonal',
  Direction: 'impersonal',
  // Segment rules
  'SegmentRuleInput.and': 'impersonal',
  'SegmentRuleInput.or': 'impersonal',
  'SegmentRuleInput.not': 'impersonal',
  'SegmentRuleInput.attribute': 'personal',
  'SegmentRuleInput.behavior': 'personal',
  'SegmentRuleInput.score': 'impersonal',
  'SegmentRuleInput.consent': 'impersonal',
  'SegmentRuleInput.recommended': 'impersonal',
  'RecommendedConditionInput.product': 'impersonal',
  'SegmentRuleInput.inSegment': 'personal',
  'AttributeConditionInput.field': 'personal',
  // The value a condition compares with: the condition's field or path decides whether it reads personal data.
  'AttributeConditionInput.value': 'impersonal',
  'BehaviorConditionInput.channel': 'impersonal',
  'BehaviorConditionInput.type': 'impersonal',
  'BehaviorConditionInput.where': 'personal',
  'PropertyConditionInput.path': 'personal',
  'PropertyConditionInput.value': 'impersonal',
  'ScoreConditionInput.labelIn': 'impersonal',
  'ConsentConditionInput.purpose': 'impersonal',
  'ConsentConditionInput.channel': 'impersonal',
  'ConsentConditionInput.statusIn': 'impersonal',
  ComparisonOp: 'impersonal',
  BehaviorAggregate: 'impersonal',
  // Score change filter of scoreChanged: labels of a score
  'ScoreChangeFilter.labelIn': 'impersonal',
  // Alert feed filter
  AlertStatus: 'impersonal',
  // Audit filter
  'AuditFilter.actor': 'impersonal',
  'AuditFilter.operation': 'impersonal',
};

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Wraps the resolvers of masked fields in one place: the value is masked
 * unless the caller holds `pii:read`. Filters, orderings and rules on
 * personal data are refused where they are read (customer.graphql.ts,
 * segment.service.ts); membership is protected in segment.graphql.ts.
 */
export function applyPersonalDataMasking(schema: GraphQLSchema): GraphQLSchema {
  for (const [key, protection] of Object.entries(FIELD_PROTECTION)) {
    if (protection.output?.kind !== 'masked') continue;
    const { mask } = protection.output;
    const [typeName, fieldName] = key.split('.');
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) continue;
    const field = type.getFields()[fieldName];
    if (!field || (field.extensions as { piiMasked?: boolean }).piiMasked) continue;
    const resolve: GraphQLFieldResolver<unknown, { principal?: Principal; personalData: PersonalDataPolicy }> = field.resolve ?? defaultFieldResolver;
    // Synchronous when the resolver is: a promise per masked value would cost every page of customers one per row.
    field.resolve = (source, args, context, info) => {
      const value: unknown = resolve(source, args, context, info);
      if (hasScope(context.principal, 'pii:read')) return value;
      return isPromiseLike(value) ? Promise.resolve(value).then((v) => mask(v, context, source)) : mask(value, context, source);
    };
    (field as { extensions: Record<string, unknown> }).extensions = { ...field.extensions, piiMasked: true };
  }
  return schema;
}

import { GraphQLError, TypeInfo, visit, visitWithTypeInfo, getNamedType, type ASTVisitor, type ValidationContext } from 'graphql';
import { ErrorCode } from '../../errors/catalog';
import { hasScope, type Principal, type Scope } from './scopes';

/**
 * The one place that says who may read or call what. Every root field is
 * listed; every object type has a type-wide requirement (null: a structural
 * type — connection, edge, payload — that inherits the requirement of the field
 * that returned it); some fields override their type's. Anything not listed is
 * refused (it needs `admin`), and a test walks the schema to keep this complete.
 */
export const ROOT_FIELD_REQUIREMENTS: Record<string, Scope | null> = {
  // Queries
  'Query.node': null, // the concrete type's fields are checked through its fragment
  'Query.customer': 'customers:read',
  'Query.customers': 'customers:read',
  'Query.interactions': 'customers:read',
  'Query.segments': 'segments:read',
  'Query.segment': 'segments:read',
  'Query.previewSegment': 'segments:read',
  'Query.explainMembership': 'segments:read',
  'Query.segmentTemplates': 'segments:read',
  'Query.segmentRefresh': 'segments:read',
  'Query.scoreModels': 'scores:read',
  'Query.scoreDistribution': 'scores:read',
  'Query.recomputeJob': null, // per job: the read scope of what it computes (requireJobAccess)
  'Query.recommendationModel': 'scores:read',
  'Query.productAudience': 'scores:read',
  'Query.similarProducts': 'scores:read',
  'Query.connectors': 'connectors:admin',
  'Query.connections': 'connectors:admin',
  'Query.connection': 'connectors:admin',
  'Query.connectorRun': 'connectors:admin',
  'Query.importRun': 'connectors:admin',
  'Query.auditLog': 'audit:read',
  'Query.apiKeys': 'admin',
  'Query.exportCustomer': 'pii:read',
  'Query.queues': 'admin',
  'Query.webhookEndpoints': 'webhooks:admin',
  'Query.webhookEventTypes': 'webhooks:admin',
  'Query.webhookDeliveries': 'webhooks:admin',
  'Query.identityMatching': 'customers:read',
  'Query.duplicatePairs': 'customers:read',
  'Query.duplicateClusters': 'customers:read',
  // Mutations
  'Mutation.upsertCustomers': 'customers:write',
  'Mutation.recordInteractions': 'interactions:write',
  'Mutation.setConsents': 'customers:write',
  'Mutation.createSegment': 'segments:write',
  'Mutation.updateSegment': 'segments:write',
  'Mutation.deleteSegment': 'segments:write',
  'Mutation.addToSegment': 'segments:write',
  'Mutation.removeFromSegment': 'segments:write',
  'Mutation.refreshSegment': 'segments:write',
  'Mutation.createSegmentFromTemplate': 'segments:write',
  'Mutation.updateScoreModel': 'scores:write',
  'Mutation.recomputeScores': 'scores:write',
  'Mutation.updateRecommendationModel': 'scores:write',
  'Mutation.recomputeRecommendations': 'scores:write',
  'Mutation.createConnection': 'connectors:admin',
  'Mutation.updateConnection': 'connectors:admin',
  'Mutation.deleteConnection': 'connectors:admin',
  'Mutation.runConnection': 'connectors:admin',
  'Mutation.testConnection': 'connectors:admin',
  'Mutation.importFile': 'connectors:admin',
  'Mutation.createApiKey': 'admin',
  'Mutation.revokeApiKey': 'admin',
  'Mutation.eraseCustomer': 'admin',
  'Mutation.liftErasureTombstone': 'admin',
  'Mutation.updateIdentityMatching': 'customers:write',
  'Mutation.findDuplicates': 'customers:write',
  'Mutation.dismissDuplicatePair': 'customers:write',
  // Merging is data stewardship (customers:write); what conflicts on ingest do is configuration (admin).
  'Mutation.mergeCustomers': 'customers:write',
  'Mutation.unmergeCustomer': 'customers:write',
  'Mutation.updateIdentityPolicies': 'admin',
  'Query.identityPolicies': 'admin',
  'Query.customerMerge': 'customers:read',
  'Query.customerMerges': 'customers:read',
  'Mutation.retryJob': 'admin',
  'Mutation.removeJob': 'admin',
  'Mutation.createWebhookEndpoint': 'webhooks:admin',
  'Mutation.updateWebhookEndpoint': 'webhooks:admin',
  'Mutation.deleteWebhookEndpoint': 'webhooks:admin',
  'Mutation.replayWebhookDelivery': 'webhooks:admin',
  'Mutation.replayWebhookDeliveries': 'webhooks:admin',
  // Subscriptions: the scope of the query that reads the same thing
  'Subscription.customerChanged': 'customers:read',
  'Subscription.interactionRecorded': 'customers:read',
  'Subscription.segmentMembershipChanged': 'segments:read',
  'Subscription.scoreChanged': 'scores:read',
  'Subscription.recomputeJobUpdated': null, // per job, as Query.recomputeJob
  // Alerts: alerts:read for the feed, rules and templates; alerts:write to manage rules and work the feed
  'Query.alertRules': 'alerts:read',
  'Query.alertTemplates': 'alerts:read',
  'Query.alerts': 'alerts:read',
  'Mutation.createAlertRule': 'alerts:write',
  'Mutation.updateAlertRule': 'alerts:write',
  'Mutation.deleteAlertRule': 'alerts:write',
  'Mutation.createAlertRuleFromTemplate': 'alerts:write',
  'Mutation.acknowledgeAlert': 'alerts:write',
  'Mutation.resolveAlert': 'alerts:write',
  'Subscription.alertFired': 'alerts:read',
};

/** Type-wide requirements of object types (null: structural, inherits). */
export const TYPE_REQUIREMENTS: Record<string, Scope | null> = {
  Customer: 'customers:read',
  CustomerStats: 'customers:read',
  Identifier: 'customers:read',
  Interaction: 'customers:read',
  Consent: 'customers:read',
  Score: 'scores:read',
  ScorePoint: 'scores:read',
  ScoreModel: 'scores:read',
  ScoreBucket: 'scores:read',
  Segment: 'segments:read',
  SegmentPreview: 'segments:read',
  SegmentMembershipEvent: 'segments:read',
  SegmentSizePoint: 'segments:read',
  SegmentTemplate: 'segments:read',
  MembershipExplanation: 'segments:read',
  ConditionExplanation: 'segments:read',
  SegmentRefresh: 'segments:read',
  ConnectorDefinition: 'connectors:admin',
  Connection: 'connectors:admin',
  ConnectorRun: 'connectors:admin',
  ApiKey: 'admin',
  CreatedApiKey: 'admin',
  AuditEntry: 'audit:read',
  Queue: 'admin',
  QueueCounts: 'admin',
  QueueJob: 'admin',
  ErasureReceipt: 'admin',
  ConnectorRunError: 'connectors:admin',
  RefusedDeliveries: 'connectors:admin',
  ConnectionTest: 'connectors:admin',
  SegmentConditionExplanation: 'segments:read',
  CustomerChange: 'customers:read',
  ScoreChange: 'scores:read',
  DuplicatePair: 'customers:read',
  MatchEvidence: 'customers:read',
  DuplicateCluster: 'customers:read',
  IdentityMatching: 'customers:read',
  CustomerMerge: 'customers:read',
  IdentityPolicies: 'admin',
  RecommendationModel: 'scores:read',
  ProductRecommendation: 'scores:read',
  RecommendationReason: 'scores:read',
  SimilarProduct: 'scores:read',
  WebhookEndpoint: 'webhooks:admin',
  WebhookDelivery: 'webhooks:admin',
  WebhookAttempt: 'webhooks:admin',
  CreatedWebhookEndpoint: 'webhooks:admin',
  Alert: 'alerts:read',
  AlertRule: 'alerts:read',
  AlertTemplate: 'alerts:read',
  AlertTemplateParameter: 'alerts:read',
  // Structural
  PageInfo: null,
  RowError: null,
  RowResult: null,
  RecordInteractionsPayload: null,
  UpsertCustomerResult: null,
  UpsertCustomersPayload: null,
  SetConsentsPayload: null,
  ConsentResult: null,
  ErasureTableCount: null,
  // Returned by recomputeScores (scores:write), refreshSegment (segments:write), findDuplicates and recomputeJob (per job).
  RecomputeJob: null,
  AuditPage: null,
  DeleteConnectionPayload: null,
  DeleteSegmentPayload: null,
  SegmentMemberResult: null,
  SegmentMembersPayload: null,
  // The notice that a slow subscriber lost events: a count and a time.
  SubscriptionLagged: null,
  DeleteWebhookEndpointPayload: null,
  ReplayWebhookDeliveriesPayload: null,
  DeleteAlertRulePayload: null,
};

/** Fields that need more than their type. */
export const FIELD_REQUIREMENTS: Record<string, Scope> = {
  'Customer.scores': 'scores:read',
  'Customer.score': 'scores:read',
  'Customer.segments': 'segments:read',
  'Customer.recommendations': 'scores:read',
  'Customer.segmentHistory': 'segments:read',
  'Customer.alerts': 'alerts:read',
};

/** The requirement of `Type.field`; `undefined` means nothing declares it (refused). */
export function requirementOf(typeName: string, fieldName: string): Scope | null | undefined {
  const key = `${typeName}.${fieldName}`;
  if (typeName === 'Query' || typeName === 'Mutation' || typeName === 'Subscription') return ROOT_FIELD_REQUIREMENTS[key];
  if (key in FIELD_REQUIREMENTS) return FIELD_REQUIREMENTS[key];
  if (typeName.endsWith('Connection') || typeName.endsWith('Edge')) return TYPE_REQUIREMENTS[typeName] ?? null;
  if (typeName === 'Node') return null;
  return TYPE_REQUIREMENTS[typeName];
}

/** Validation rule: every field the operation touches must be allowed for the caller. */
export function scopeRule(principal: Principal | undefined) {
  return (context: ValidationContext): ASTVisitor => {
    const typeInfo = new TypeInfo(context.getSchema());
    const reported = new Set<string>();
    return visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        const name = node.name.value;
        if (!parent || name.startsWith('__')) return;
        const required = requirementOf(getNamedType(parent).name, name);
        if (required === null) return;
        const scope: Scope = required ?? 'admin';
        if (hasScope(principal, scope)) return;
        const key = `${parent.name}.${name}`;
        if (reported.has(key)) return;
        reported.add(key);
        context.reportError(new GraphQLError(`${key} requires the scope ${scope}`, { nodes: [node], extensions: { code: ErrorCode.FORBIDDEN, scope } }));
      },
    }) as ASTVisitor;
  };
}

export { visit };

import type { DataSource } from 'typeorm';
import type { Config } from './config';
import { addTransactionHook } from './infra/database';
import type { EventBus } from './modules/events';
import type { HttpRoute } from './infra/http';
import { JobRegistry } from './infra/jobs';
import type { Logger } from './infra/logger';
import { checkSubscriptions, ModuleAssemblyError, orderModules, transactionSubscribers, type AnyModule, type ScheduleDeclaration } from './infra/module';
import type { QueueBackend } from './infra/queue';
import { setCursorSecret } from './infra/cursor';
import { MODULES } from './modules';
import type { ApiKeyService } from './modules/access/api-key.service';
import type { AuditLogService } from './modules/access/audit-log.service';
import type { PersonalDataPolicy } from './modules/access/personal-data';
import type { RateLimiter } from './modules/access/rate-limit';
import type { ConnectorServices } from './modules/connectors/connectors.services';
import { resolveSecretKey } from './modules/connectors/secret-box';
import type { CustomerQueryService } from './modules/customers/customer-query.service';
import type { CustomerStatsService } from './modules/customers/customer-stats.service';
import type { CustomerService } from './modules/customers/customer.service';
import type { RefreshGatherer } from './modules/customers/customers.jobs';
import type { TombstoneHasher } from './modules/customers/tombstones';
import type { IngestService } from './modules/interactions/ingest.service';
import type { InteractionQueryService } from './modules/interactions/interaction-query.service';
import type { QueueAdminService } from './modules/operations/queue-admin.service';
import type { PrivacyService } from './modules/privacy/privacy.service';
import type { IdentityPolicyService } from './modules/merges/identity-policy.service';
import type { MergeService } from './modules/merges/merge.service';
import type { RealtimeHub } from './modules/realtime';
import type { RecommendationService } from './modules/recommendations/recommendation.service';
import type { CustomerRules } from './modules/scores/kinds';
import type { WebhookServices } from './modules/webhooks';
import type { AlertService } from './modules/alerts/alert.service';
import type { ScoreService } from './modules/scores/score.service';
import type { RecomputeJobs } from './modules/scores/scores.jobs';
import type { SegmentService } from './modules/segments/segment.service';
import type { IdentityService, markPairsMerged, recordDuplicatePair } from './modules/identity/identity.service';

/** What the assembler gives every process before any module: configuration and infrastructure. */
export interface CoreServices {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  jobs: JobRegistry;
  /** The server secret (RAPPORT_SECRET_KEY, or the data directory's key file in development). */
  secretKey: Buffer | undefined;
}

/** Everything a gateway or a worker needs, built once per process from the module manifests. */
export interface RapportServices extends CoreServices {
  /** Gathers customer.refresh requests of this process; flushed at shutdown. */
  refreshes: RefreshGatherer;
  tombstones: TombstoneHasher;
  ingest: IngestService;
  customers: CustomerService;
  customerQueries: CustomerQueryService;
  interactionQueries: InteractionQueryService;
  stats: CustomerStatsService;
  scores: ScoreService;
  /** Starts and reads recompute jobs. */
  recomputes: RecomputeJobs;
  segments: SegmentService;
  recommendations: RecommendationService;
  /** The segment rule language as score kinds use it (built by segments, used by scores). */
  customerRules: CustomerRules;
  connectors: ConnectorServices;
  apiKeys: ApiKeyService;
  auditLog: AuditLogService;
  rateLimiter: RateLimiter;
  privacy: PrivacyService;
  /** Which traits and interaction properties hold personal data (RAPPORT_PERSONAL_TRAITS, RAPPORT_PERSONAL_PROPERTIES). */
  personalData: PersonalDataPolicy;
  /** Domain events: subscriptions and the outbox dispatcher. */
  events: EventBus;
  /** GraphQL subscriptions: the fan-out of domain events to this process's subscribers. */
  realtime: RealtimeHub;
  /** Identity matching: duplicate customers. */
  identity: IdentityService;
  /** Duplicate pairs written by others than the matcher (an ingest policy's flag, a merge). */
  duplicatePairs: { recordDuplicatePair: typeof recordDuplicatePair; markPairsMerged: typeof markPairsMerged };
  /** Merging customers and undoing merges (the merges module). */
  merges: MergeService;
  /** What an identity conflict on ingest does, per identifier type, and the guard rails of automatic merges. */
  identityPolicies: IdentityPolicyService;
  /** The operators' view of the queues (counts, failed jobs, retry, removal). */
  queueAdmin: QueueAdminService;
  /** Outbound webhooks: endpoints, deliveries and their sender. */
  webhooks: WebhookServices;
  /** Alert rules, their firing and the worklist. */
  alerts: AlertService;
  /** The modules' gateway routes besides GraphQL. */
  routes: HttpRoute[];
  /** The modules' recurring jobs, scheduled by a worker process at start. */
  schedules: ScheduleDeclaration[];
  /** Work a gateway process does before it listens. */
  gatewayStarts: (() => Promise<void>)[];
}

/** The services' names as `needs` and `provides` see them: the core's, before any module. */
export const CORE_SERVICES: readonly (keyof CoreServices)[] = ['config', 'logger', 'dataSource', 'queues', 'jobs', 'secretKey'];

/**
 * Builds every module in the order their manifests require, then wires what
 * they declare: jobs, subscriptions to events (in-transaction ones in their
 * declared order), transaction hooks, routes and schedules.
 *
 * @throws ModuleAssemblyError at startup on a missing service, a service
 *   provided twice, a cycle between modules or between the in-transaction
 *   subscribers of an event, or subscriptions that differ from what a
 *   manifest's `events.subscribes` names.
 */
export function createServices(
  deps: { config: Config; logger: Logger; dataSource: DataSource; queues: QueueBackend },
  modules: readonly AnyModule[] = MODULES,
): RapportServices {
  const secretKey = resolveSecretKey(deps.config);
  // Page cursors are sealed with a key derived from the server secret (a per-process key without one).
  setCursorSecret(secretKey);
  const core: CoreServices = { ...deps, jobs: new JobRegistry(), secretKey };
  const ordered = orderModules(modules, CORE_SERVICES);
  checkSubscriptions(ordered);
  const inTransaction = transactionSubscribers(ordered);
  const bag = buildModules(ordered, core);
  const services = { ...bag, routes: [], schedules: [], gatewayStarts: [] } as unknown as RapportServices;
  wireDeclarations(ordered, bag, services, inTransaction);
  return services;
}

/** Creates each module from exactly the services it names in `needs`. */
function buildModules(ordered: readonly AnyModule[], core: CoreServices): Record<string, unknown> {
  const bag: Record<string, unknown> = { ...core };
  for (const module of ordered) {
    const created = module.create(pick(bag, module.needs)) as Record<string, unknown>;
    for (const name of module.provides) {
      if (!(name in created)) throw new ModuleAssemblyError(`module ${module.name} declares that it provides "${name}" but its create() did not return it`);
    }
    Object.assign(bag, created);
  }
  return bag;
}

/** Registers what the manifests declare besides services. */
function wireDeclarations(
  ordered: readonly AnyModule[],
  bag: Record<string, unknown>,
  services: RapportServices,
  inTransaction: ReturnType<typeof transactionSubscribers<AnyModule>>,
): void {
  const own = (module: AnyModule) => pick(bag, [...module.needs, ...module.provides]);
  for (const module of ordered) {
    for (const job of module.jobs?.(own(module)) ?? []) services.jobs.register(job.queue, job.name, job.handler);
    for (const hook of module.transactionHooks ?? []) addTransactionHook(hook);
    services.routes.push(...(module.routes?.(own(module)) ?? []));
    services.schedules.push(...(module.schedules?.(own(module)) ?? []));
    const { gatewayStart } = module;
    if (gatewayStart) services.gatewayStarts.push(() => gatewayStart(own(module)));
    // A declaration pairs its event with its handler's payload type; the bus takes them one event type at a time.
    for (const subscription of module.subscriptions ?? []) {
      if (subscription.delivery === 'batch') {
        services.events.subscribeBatch(subscription.events, subscription.consumer, subscription.create(own(module)), subscription.onFailure);
      }
      if (subscription.delivery === 'outbox')
        services.events.subscribe(
          subscription.event,
          subscription.consumer,
          subscription.create(own(module)) as never,
          subscription.interest?.(own(module)) as never,
        );
    }
  }
  // In-transaction subscribers in the order their `after` declares: the bus runs them in registration order.
  for (const [event, subscribers] of inTransaction) {
    for (const subscriber of subscribers)
      services.events.subscribeInTransaction(event, subscriber.consumer, subscriber.create(own(subscriber.module)) as never);
  }
}

function pick(bag: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, bag[name]]));
}

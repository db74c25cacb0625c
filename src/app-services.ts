import type { DataSource } from 'typeorm';
import type { Config } from './config';
import { JobRegistry } from './infra/jobs';
import type { Logger } from './infra/logger';
import type { QueueBackend } from './infra/queue';
import { CustomerQueryService } from './modules/customers/customer-query.service';
import { CustomerService } from './modules/customers/customer.service';
import { CustomerStatsService } from './modules/customers/customer-stats.service';
import { createRefreshRequester, RefreshGatherer, registerCustomerJobs } from './modules/customers/customers.jobs';
import { IngestService } from './modules/interactions/ingest.service';
import { InteractionQueryService } from './modules/interactions/interaction-query.service';
import { createConnectorServices, type ConnectorServices } from './modules/connectors/connectors.services';
import { ScoreService } from './modules/scores/score.service';
import { enqueueRecompute, registerScoreJobs, SCORES_RECOMPUTE_JOB } from './modules/scores/scores.jobs';
import { SCORE_KINDS } from './modules/scores/score-kind';
import { QUEUES } from './infra/queue';
import { SegmentMembershipService } from './modules/segments/segment-membership.service';
import { SegmentService } from './modules/segments/segment.service';
import { createSegmentRefreshRequester, registerSegmentJobs, registerSegmentRefreshStep } from './modules/segments/segments.jobs';

import { ApiKeyService } from './modules/access/api-key.service';
import { postgresRateLimiter, redisRateLimiter, type RateLimiter } from './modules/access/rate-limit';
import { PrivacyService } from './modules/privacy/privacy.service';
import { PersonalDataPolicy } from './modules/access/personal-data';
import { setCursorSecret } from './infra/cursor';
import { TombstoneHasher } from './modules/customers/tombstones';
import { resolveSecretKey } from './modules/connectors/secret-box';

/** Everything a gateway or a worker needs, built once per process. */
export interface RapportServices {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  jobs: JobRegistry;
  /** Gathers customer.refresh requests of this process; flushed at shutdown. */
  refreshes: RefreshGatherer;
  ingest: IngestService;
  customers: CustomerService;
  customerQueries: CustomerQueryService;
  interactionQueries: InteractionQueryService;
  stats: CustomerStatsService;
  scores: ScoreService;
  segments: SegmentService;
  connectors: ConnectorServices;
  apiKeys: ApiKeyService;
  rateLimiter: RateLimiter;
  privacy: PrivacyService;
  /** Which traits and interaction properties hold personal data (RAPPORT_PERSONAL_TRAITS, RAPPORT_PERSONAL_PROPERTIES). */
  personalData: PersonalDataPolicy;
}

export function createServices(deps: { config: Config; logger: Logger; dataSource: DataSource; queues: QueueBackend }): RapportServices {
  const { dataSource, queues, logger } = deps;
  // Page cursors are sealed with a key derived from the server secret (a per-process key without one).
  setCursorSecret(resolveSecretKey(deps.config));
  const personalData = new PersonalDataPolicy(deps.config.auth);
  const refreshes = new RefreshGatherer(createRefreshRequester(queues), logger.child({ component: 'refresh' }));
  const tombstones = new TombstoneHasher(resolveSecretKey(deps.config));
  if (!tombstones.keyed) logger.warn('RAPPORT_SECRET_KEY is not set: erased identifiers are kept as unkeyed SHA-256 hashes, which a copy of the database can test guesses against');
  const ingest = new IngestService(dataSource, refreshes.request, logger.child({ component: 'ingest' }), tombstones);
  const stats = new CustomerStatsService(dataSource);
  const jobs = new JobRegistry();
  registerCustomerJobs(jobs, stats);
  const scores = new ScoreService(dataSource, logger.child({ component: 'scores' }));
  scores.setRecomputeRequester((kinds) => enqueueRecompute(queues, kinds));
  registerScoreJobs(jobs, scores, stats, { historyDays: deps.config.scoreHistoryDays });
  // Segments after scores: the refresh step must see this refresh's new scores.
  const segmentMemberships = new SegmentMembershipService(dataSource);
  const segments = new SegmentService(dataSource, segmentMemberships, { requestRefresh: createSegmentRefreshRequester(queues, logger.child({ component: 'segments' })), personalData });
  segmentMemberships.onMembershipChanged((ids) => segments.refreshDependents(ids));
  registerSegmentJobs(jobs, segments, segmentMemberships);
  registerSegmentRefreshStep(stats, segmentMemberships);
  // A full score recompute moves score-based segments at once, not at the next sweep.
  jobs.decorate(QUEUES.analytics, SCORES_RECOMPUTE_JOB, (handler) => async (job) => {
    const result = await handler(job);
    const kinds = ((job.data as { kinds?: string[] }).kinds ?? []).length ? (job.data as { kinds: string[] }).kinds : [...SCORE_KINDS];
    await segments.refreshSegmentsUsingScores(kinds);
    return result;
  });
  const customers = new CustomerService(dataSource, (ids) => ingest.safeRequestRefresh(ids), tombstones);
  const privacy = new PrivacyService(dataSource, (ids) => ingest.safeRequestRefresh(ids), tombstones);
  const connectors = createConnectorServices({ ...deps, jobs, targets: { ingest, customers, privacy, dataSource } });
  const limits = { perMinute: deps.config.auth.rateLimitPerMinute, burst: deps.config.auth.rateLimitBurst };
  // An erasure changes the base that segment sizes and score quantiles are computed over.
  privacy.onErased(async () => {
    await enqueueRecompute(queues, []);
  });
  return {
    ...deps,
    apiKeys: new ApiKeyService(dataSource),
    rateLimiter: deps.config.redisUrl
      ? redisRateLimiter(deps.config.redisUrl, deps.config.queuePrefix, limits)
      : postgresRateLimiter(dataSource, limits),
    privacy,
    personalData,
    jobs,
    refreshes,
    ingest,
    connectors,
    customers,
    customerQueries: new CustomerQueryService(dataSource),
    interactionQueries: new InteractionQueryService(dataSource),
    stats,
    scores,
    segments,
  };
}

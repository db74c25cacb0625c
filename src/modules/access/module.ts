import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { defineModule } from '../../infra/module';
import * as accessGraphql from './access.graphql';
import { ApiKeyService } from './api-key.service';
import { AuditLogService } from './audit-log.service';
import { auditTransactionHook } from './audit';
import { PersonalDataPolicy } from './personal-data';
import { postgresRateLimiter, redisRateLimiter, type RateLimiter } from './rate-limit';

/** API keys, scopes, rate limits, the audit log and the personal-data policy. */
export const accessModule = defineModule({
  name: 'access',
  needs: ['config', 'dataSource', 'logger'],
  provides: ['apiKeys', 'auditLog', 'rateLimiter', 'personalData'],
  graphql: [accessGraphql],
  transactionHooks: [auditTransactionHook],
  events: { publishes: [], subscribes: [] },
  create({ config, dataSource, logger }: { config: Config; dataSource: DataSource; logger: Logger }): {
    apiKeys: ApiKeyService;
    auditLog: AuditLogService;
    rateLimiter: RateLimiter;
    personalData: PersonalDataPolicy;
  } {
    const limits = { perMinute: config.auth.rateLimitPerMinute, burst: config.auth.rateLimitBurst };
    return {
      apiKeys: new ApiKeyService(dataSource),
      auditLog: new AuditLogService(dataSource),
      rateLimiter: config.redisUrl
        ? redisRateLimiter(config.redisUrl, config.queuePrefix, limits, logger.child({ component: 'rate-limit' }))
        : postgresRateLimiter(dataSource, limits),
      personalData: new PersonalDataPolicy(config.auth),
    };
  },
});

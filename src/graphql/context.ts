import type { Logger } from '../infra/logger';
import type { RapportServices } from '../app-services';
import { createLoaders, type Loaders } from './loaders';
import type { Principal } from '../modules/access/scopes';
import type { PersonalDataPolicy } from '../modules/access/personal-data';
import { createScoreLoaders, type ScoreLoaders } from '../modules/scores/score-loaders';

/** Per-request context: services (shared) and DataLoaders (fresh per request, so caching never leaks across callers). */
export interface GraphQLContext {
  services: RapportServices;
  loaders: Loaders;
  /** Batch loaders of the scores module (scores, history). */
  scoreLoaders: ScoreLoaders;
  logger: Logger;
  /** The authenticated caller (undefined only for in-process calls that bypass HTTP). */
  principal?: Principal;
  /** Which traits and interaction properties are personal (masked and refused without pii:read). */
  personalData: PersonalDataPolicy;
  /** For a subscription: checks that the caller's credentials are still accepted (a revoked key ends it). */
  stillAuthenticated?: () => Promise<boolean>;
}

export function createContext(services: RapportServices, principal?: Principal, stillAuthenticated?: () => Promise<boolean>): GraphQLContext {
  return {
    stillAuthenticated,
    services,
    loaders: createLoaders(services.dataSource),
    scoreLoaders: createScoreLoaders(services.dataSource),
    logger: services.logger,
    principal,
    personalData: services.personalData,
  };
}

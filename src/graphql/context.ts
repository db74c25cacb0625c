import type { Logger } from '../infra/logger';
import type { RapportServices } from '../app-services';
import { createLoaders, type Loaders } from './loaders';

/** Per-request context: services (shared) and DataLoaders (fresh per request, so caching never leaks across callers). */
export interface GraphQLContext {
  services: RapportServices;
  loaders: Loaders;
  logger: Logger;
}

export function createContext(services: RapportServices): GraphQLContext {
  return { services, loaders: createLoaders(services.dataSource), logger: services.logger };
}

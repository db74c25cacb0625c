import type { Logger } from '../infra/logger';
import type { ModuleServices } from '../infra/module';
import { CORE_SERVICES, type CoreServices, type RapportServices } from '../app-services';
import { MODULES, type ModuleManifest, type ModuleName } from '../modules';
import { createLoaders, type Loaders } from './loaders';
import type { Principal } from '../modules/access/scopes';
import type { PersonalDataPolicy } from '../modules/access/personal-data';
import { createScoreLoaders, type ScoreLoaders } from '../modules/scores/score-loaders';

/**
 * What a module's resolvers see of the services: what the module provides and
 * what its manifest needs, without the core's infrastructure (resolvers run
 * no SQL and reach no queue; they call services).
 */
export type ResolverServices<Name extends ModuleName> = Omit<ModuleServices<ModuleManifest<Name>>, keyof CoreServices>;

/** Per-request context: services (shared) and DataLoaders (fresh per request, so caching never leaks across callers). */
export interface GraphQLContext {
  /**
   * The services of module `name` as its resolvers see them. A module's
   * resolvers ask for their own module only (test/architecture/modules.test.ts).
   */
  servicesOf<Name extends ModuleName>(name: Name): ResolverServices<Name>;
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

/** Each module's view of a process's services, built once per process. */
const views = new WeakMap<RapportServices, Map<string, object>>();

/**
 * The services module `name` provides and needs, core infrastructure aside.
 *
 * @throws Error when no module has that name.
 */
export function resolverServices<Name extends ModuleName>(services: RapportServices, name: Name): ResolverServices<Name> {
  const byModule = views.get(services) ?? new Map<string, object>();
  views.set(services, byModule);
  let view = byModule.get(name);
  if (!view) {
    const module = MODULES.find((m) => m.name === name);
    if (!module) throw new Error(`no module is named ${name}`);
    const core = new Set<string>(CORE_SERVICES);
    const names = [...module.provides, ...module.needs].filter((service) => !core.has(service));
    view = Object.freeze(Object.fromEntries(names.map((service) => [service, services[service as keyof RapportServices]])));
    byModule.set(name, view);
  }
  return view as ResolverServices<Name>;
}

export function createContext(services: RapportServices, principal?: Principal, stillAuthenticated?: () => Promise<boolean>): GraphQLContext {
  return {
    stillAuthenticated,
    servicesOf: (name) => resolverServices(services, name),
    loaders: createLoaders(services.dataSource),
    scoreLoaders: createScoreLoaders(services.dataSource),
    logger: services.logger,
    principal,
    personalData: services.personalData,
  };
}

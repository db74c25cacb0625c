import type { EntityManager } from 'typeorm';
import type { JobHandler, QueueName } from './queue';
import type { HttpRoute } from './http';
import type { TransactionHook } from './database';
import { present } from './present';

/**
 * What a module declares about itself: the services it builds and the ones it
 * takes from others, its GraphQL files, its jobs, schedules and
 * routes, the steps it adds to a customer refresh, and the domain events it
 * publishes and consumes. The assembler (src/app-services.ts) orders modules
 * by `needs`/`provides` and wires the rest; a module never reaches into
 * another's services except through what it names in `needs`.
 *
 * `Deps` is the slice of the service bag the module reads; `Out` the services
 * it adds to it.
 */
export interface RapportModule<Deps = Record<string, unknown>, Out = Record<string, unknown>> {
  name: string;
  /** Services this module takes from the core or from modules built before it. */
  needs: readonly (keyof Deps & string)[];
  /** Services this module adds to the bag. */
  provides: readonly (keyof Out & string)[];
  /**
   * The module's Pothos registration files (their namespace objects: importing
   * the manifest registers the types; the schema is built from them).
   */
  graphql?: readonly object[];
  /** Builds the module's services from its needs. */
  create(deps: Deps): Out;
  /** Job handlers (`queue/name`), registered once the module is built. */
  jobs?(services: Deps & Out): readonly JobDeclaration[];
  /** Recurring jobs a worker process schedules at start (cluster-wide BullMQ job schedulers). */
  schedules?(services: Deps & Out): readonly ScheduleDeclaration[];
  /** Gateway routes besides GraphQL. */
  routes?(services: Deps & Out): readonly HttpRoute[];
  /** Work added to every customer refresh, in the refresh transaction. */
  refreshSteps?: readonly RefreshStepDeclaration<Deps & Out>[];
  /** Work a gateway process does before it listens (warming plugin hosts). */
  gatewayStart?(services: Deps & Out): Promise<void>;
  /** Follow-up work run after another module's job succeeds. */
  jobFollowUps?: readonly JobFollowUp<Deps & Out>[];
  /** Work run at the end of every transaction opened by inTransaction (the audit entry). */
  transactionHooks?: readonly TransactionHook[];
  /** Domain events this module publishes and consumes (names from the event catalog). */
  events?: { publishes: readonly string[]; subscribes: readonly string[] };
}

export interface JobDeclaration {
  queue: QueueName;
  name: string;
  handler: JobHandler;
}

export interface ScheduleDeclaration {
  /** For logs and the architecture map. */
  name: string;
  start(): Promise<void>;
}

export interface RefreshStepDeclaration<Services = never> {
  /** The step's name, which other steps' `after` refers to. */
  name: string;
  /** Steps that must run before this one in the same refresh. */
  after?: readonly string[];
  /** The step's work, given the module's services. */
  create(services: Services): (manager: EntityManager, customerIds: string[]) => Promise<void>;
}

export interface JobFollowUp<Services = never> {
  /** The module whose job it follows. */
  module: string;
  queue: QueueName;
  /** The job (another module's) after whose success the follow-up runs, with that job's data. */
  job: string;
  create(services: Services): (data: unknown) => Promise<void>;
}

/** Collects the jobs a `register…Jobs(registry, …)` function registers, as declarations. */
export function collectJobs(register: (registry: { register(queue: QueueName, name: string, handler: JobHandler): void }) => void): JobDeclaration[] {
  const jobs: JobDeclaration[] = [];
  register({ register: (queue, name, handler) => void jobs.push({ queue, name, handler }) });
  return jobs;
}

/** Declares a module; the identity function that gives `create` its types. */
export function defineModule<Deps, Out>(module: RapportModule<Deps, Out>): RapportModule<Deps, Out> {
  return module;
}

/** A module as the assembler sees it, whatever its own types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = RapportModule<any, any>;

/** Raised at startup when modules cannot be assembled. */
export class ModuleAssemblyError extends Error {}

/**
 * Orders modules so that each comes after the providers of what it needs
 * (declaration order among independent ones). `available` are the services
 * present before any module (config, logger, database, queues, jobs).
 *
 * @throws ModuleAssemblyError naming the module and service when a need has no
 *   provider, when two modules provide the same service, or the modules of a
 *   cycle.
 */
export function orderModules<M extends Pick<AnyModule, 'name' | 'needs' | 'provides'>>(modules: readonly M[], available: readonly string[]): M[] {
  const provider = new Map<string, string>();
  for (const name of available) provider.set(name, '(core)');
  for (const module of modules) {
    for (const service of module.provides) {
      const other = provider.get(service);
      if (other)
        throw new ModuleAssemblyError(
          `module ${module.name} provides "${service}", which ${other === '(core)' ? 'the core' : `module ${other}`} provides already`,
        );
      provider.set(service, module.name);
    }
  }
  const edges = new Map<string, string[]>();
  for (const module of modules) {
    const before: string[] = [];
    for (const need of module.needs) {
      const from = provider.get(need);
      if (!from) throw new ModuleAssemblyError(`module ${module.name} needs "${need}", which no module provides`);
      if (from !== '(core)' && from !== module.name) before.push(from);
    }
    edges.set(module.name, before);
  }
  return topologicalOrder(
    modules,
    (m) => m.name,
    (m) => edges.get(m.name) ?? [],
    'module',
  );
}

/** Orders refresh steps by their `after`. @throws ModuleAssemblyError on an unknown step or a cycle. */
export function orderRefreshSteps<S extends Pick<RefreshStepDeclaration, 'name' | 'after'>>(steps: readonly S[]): S[] {
  const names = new Set(steps.map((s) => s.name));
  for (const step of steps) {
    for (const before of step.after ?? []) {
      if (!names.has(before)) throw new ModuleAssemblyError(`refresh step ${step.name} runs after "${before}", which no module declares`);
    }
  }
  return topologicalOrder(
    steps,
    (s) => s.name,
    (s) => [...(s.after ?? [])],
    'refresh step',
  );
}

function topologicalOrder<T>(items: readonly T[], nameOf: (item: T) => string, before: (item: T) => string[], what: string): T[] {
  const byName = new Map(items.map((item) => [nameOf(item), item]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: T[] = [];
  const visit = (name: string, path: string[]): void => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new ModuleAssemblyError(`${what} cycle: ${cycle.join(' → ')}`);
    }
    // Callers check every dependency names an item before ordering.
    const item = present(byName.get(name), `${what} ${name}`);
    state.set(name, 'visiting');
    for (const dependency of before(item)) visit(dependency, [...path, name]);
    state.set(name, 'done');
    ordered.push(item);
  };
  for (const item of items) visit(nameOf(item), []);
  return ordered;
}

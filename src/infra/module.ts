import type { BatchHandler, EventHandler, EventInterest, EventType, TransactionEventHandler, TransactionEventType } from '../modules/events';
import type { JobHandler, QueueName } from './queue';
import type { HttpRoute } from './http';
import type { TransactionHook } from './database';
import { present } from './present';

/**
 * What a module declares about itself: the services it builds and the ones it
 * takes from others, its GraphQL files, its jobs, schedules and
 * routes, and the domain events it publishes and subscribes to. The assembler
 * (src/app-services.ts) orders modules by `needs`/`provides` and wires the
 * rest; a module never reaches into another's services except through what
 * it names in `needs`, and reacts to another module's work only through
 * subscriptions to events.
 *
 * `Deps` is the slice of the service bag the module reads; `Out` the services
 * it adds to it.
 */
export interface RapportModule<Deps = Record<string, unknown>, Out = Record<string, unknown>, Name extends string = string> {
  name: Name;
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
  /** Work a gateway process does before it listens (warming plugin hosts). */
  gatewayStart?(services: Deps & Out): Promise<void>;
  /**
   * The module's handlers of events: outbox events delivered after commit
   * by the dispatcher, and in-transaction events handed over inside the
   * publisher's transaction. The assembler registers them; their events
   * must be exactly those `events.subscribes` names.
   */
  subscriptions?: readonly SubscriptionDeclaration<Deps & Out>[];
  /**
   * Work run at the end of every transaction opened by inTransaction (the
   * audit entry): a property of every transaction, whatever changed in it,
   * not a reaction to an event.
   */
  transactionHooks?: readonly TransactionHook[];
  /** Domain events this module publishes and subscribes to (names from the catalogs in src/modules/events/catalog.ts). */
  events?: { publishes: readonly (EventType | TransactionEventType)[]; subscribes: readonly (EventType | TransactionEventType)[] };
}

/**
 * A subscription to an outbox event: `create` builds the handler from the
 * module's services; the dispatcher calls it after the publisher committed,
 * in order per customer, at least once, applied once per `consumer` (its
 * idempotency key: keep it stable).
 */
export type OutboxSubscriptionDeclaration<Services = never> = {
  [T in EventType]: {
    delivery: 'outbox';
    event: T;
    /** The module's name, or the module's name, a dot and more (`segments.score-segments`). */
    consumer: string;
    create(services: Services): EventHandler<T>;
    /** Which events the handler wants at all (see EventInterest); every event of the type without it. */
    interest?(services: Services): EventInterest<T>;
  };
}[EventType];

/**
 * A subscription to an in-transaction event: the handler runs synchronously
 * in the publisher's transaction, with its EntityManager, after the
 * subscribers of the same event it names in `after`.
 */
export type TransactionSubscriptionDeclaration<Services = never> = {
  [T in TransactionEventType]: {
    delivery: 'transaction';
    event: T;
    /** The module's name, or the module's name, a dot and more; what other subscribers' `after` refers to. */
    consumer: string;
    /** Subscribers of the same event that must run before this one. */
    after?: readonly string[];
    create(services: Services): TransactionEventHandler<T>;
  };
}[TransactionEventType];

/**
 * A subscription to several outbox events handed over a dispatched batch at
 * a time, in outbox order, in the transaction that marks them dispatched
 * (see BatchHandler): for consumers that pass events on elsewhere (the
 * realtime fan-out) and would otherwise cost a transaction per event.
 */
export interface BatchSubscriptionDeclaration<Services = never> {
  delivery: 'batch';
  events: readonly EventType[];
  /** The module's name, or the module's name, a dot and more. */
  consumer: string;
  /** What a failure of the handler does (see BatchFailure in src/modules/events/event-bus.ts). @defaultValue 'drop' */
  onFailure?: 'drop' | 'isolate';
  create(services: Services): BatchHandler;
}

export type SubscriptionDeclaration<Services = never> =
  OutboxSubscriptionDeclaration<Services> | TransactionSubscriptionDeclaration<Services> | BatchSubscriptionDeclaration<Services>;

/** The events a subscription declaration receives. */
export function subscribedEvents(subscription: SubscriptionDeclaration<never>): readonly (EventType | TransactionEventType)[] {
  return subscription.delivery === 'batch' ? subscription.events : [subscription.event];
}

export interface JobDeclaration {
  queue: QueueName;
  name: string;
  handler: JobHandler;
}

export interface ScheduleDeclaration {
  /** For logs and the architecture map. */
  name: string;
  /** Registers the schedule; called at worker start, on queue reconnect and periodically (see ScheduleKeeper), so it must be idempotent. */
  start(): Promise<void>;
}

/** Collects the jobs a `register…Jobs(registry, …)` function registers, as declarations. */
export function collectJobs(register: (registry: { register(queue: QueueName, name: string, handler: JobHandler): void }) => void): JobDeclaration[] {
  const jobs: JobDeclaration[] = [];
  register({ register: (queue, name, handler) => void jobs.push({ queue, name, handler }) });
  return jobs;
}

/** Declares a module; the identity function that gives `create` its types (and the module its literal name). */
export function defineModule<Name extends string, Deps, Out>(module: RapportModule<Deps, Out, Name>): RapportModule<Deps, Out, Name> {
  return module;
}

/** The services a module's `create` takes and returns: its needs and what it provides. */
export type ModuleServices<M> = M extends { create(deps: infer Deps): infer Out } ? Deps & Out : never;

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

/**
 * Orders the in-transaction subscribers of one event by their `after`
 * (declaration order among independent ones).
 *
 * @throws ModuleAssemblyError on an `after` naming no subscriber of the event, or a cycle.
 */
export function orderSubscribers<S extends { event: string; consumer: string; after?: readonly string[] }>(subscribers: readonly S[]): S[] {
  const names = new Set(subscribers.map((s) => s.consumer));
  for (const subscriber of subscribers) {
    for (const before of subscriber.after ?? []) {
      if (!names.has(before))
        throw new ModuleAssemblyError(`subscriber ${subscriber.consumer} of ${subscriber.event} runs after "${before}", which does not subscribe to it`);
    }
  }
  return topologicalOrder(
    subscribers,
    (s) => s.consumer,
    (s) => [...(s.after ?? [])],
    `${subscribers[0]?.event ?? ''} subscriber`,
  );
}

/** The in-transaction subscriptions of `modules`, by event, each list in the order its subscribers run. @throws ModuleAssemblyError as {@link orderSubscribers}. */
export function transactionSubscribers<M extends Pick<AnyModule, 'name' | 'subscriptions'>>(
  modules: readonly M[],
): Map<TransactionEventType, (TransactionSubscriptionDeclaration<unknown> & { module: M })[]> {
  const byEvent = new Map<TransactionEventType, (TransactionSubscriptionDeclaration<unknown> & { module: M })[]>();
  for (const module of modules) {
    for (const subscription of module.subscriptions ?? []) {
      if (subscription.delivery !== 'transaction') continue;
      byEvent.set(subscription.event, [
        ...(byEvent.get(subscription.event) ?? []),
        { ...(subscription as TransactionSubscriptionDeclaration<unknown>), module },
      ]);
    }
  }
  return new Map([...byEvent].map(([event, list]) => [event, orderSubscribers(list)]));
}

/**
 * Checks each module's subscriptions against its manifest: the events it
 * subscribes to are exactly those `events.subscribes` names, and each
 * consumer name is the module's name or starts with it and a dot.
 *
 * @throws ModuleAssemblyError naming the module and the event or consumer.
 */
export function checkSubscriptions(modules: readonly Pick<AnyModule, 'name' | 'subscriptions' | 'events'>[]): void {
  for (const module of modules) {
    const subscribed = new Set<string>((module.subscriptions ?? []).flatMap((s) => subscribedEvents(s)));
    const declared = new Set<string>(module.events?.subscribes ?? []);
    for (const event of subscribed)
      if (!declared.has(event))
        throw new ModuleAssemblyError(`module ${module.name} subscribes to ${event} but its manifest's events.subscribes does not name it`);
    for (const event of declared)
      if (!subscribed.has(event)) throw new ModuleAssemblyError(`module ${module.name} names ${event} in events.subscribes but has no subscription to it`);
    for (const { consumer } of module.subscriptions ?? []) {
      if (consumer !== module.name && !consumer.startsWith(`${module.name}.`))
        throw new ModuleAssemblyError(`module ${module.name} subscribes as "${consumer}"; a consumer name starts with its module's name`);
    }
  }
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

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CORE_SERVICES, createServices, type RapportServices } from '../../src/app-services';
import { createContext, resolverServices } from '../../src/graphql/context';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/infra/logger';
import { MODULE_MAP_BEGIN, MODULE_MAP_END, moduleMap } from '../../src/infra/module-map';
import { checkSubscriptions, ModuleAssemblyError, orderModules, orderSubscribers, transactionSubscribers, type AnyModule } from '../../src/infra/module';
import { MODULES } from '../../src/modules';

const ROOT = path.join(__dirname, '..', '..');
const MODULES_DIR = path.join(ROOT, 'src', 'modules');

/**
 * Imports across modules that do not go through the target's facade, each
 * with why. Keep this list short: a new entry needs a reason a reviewer accepts.
 */
const FACADE_EXCEPTIONS: { from: string; to: string; why: string }[] = [
  {
    from: 'access/pii.ts',
    to: 'segments',
    why: 'pii.ts is the one table of how every schema field handles personal data (docs/security.md); the segment rule masker it names is schema-wide policy, not a service call',
  },
];

/** Every .ts file under `dir` except tests. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

/** The relative specifiers a file imports or re-exports, type-only ones included (they are dependencies too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) specifiers.push(match[1]!);
  for (const match of text.matchAll(/^\s*import\s+'([^']+)'/gm)) specifiers.push(match[1]!);
  for (const match of text.matchAll(/import\('([^']+)'\)/g)) specifiers.push(match[1]!);
  return specifiers.filter((s) => s.startsWith('.'));
}

function resolveImport(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return base;
}

/** `customers` for src/modules/customers/…; undefined outside a module. */
function moduleOf(file: string): string | undefined {
  const relative = path.relative(MODULES_DIR, file);
  if (relative.startsWith('..')) return undefined;
  const parts = relative.split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

interface ModuleImport {
  from: string;
  fromModule: string;
  to: string;
  toModule: string;
}

function crossModuleImports(): ModuleImport[] {
  const found: ModuleImport[] = [];
  for (const file of sourceFiles(MODULES_DIR)) {
    const fromModule = moduleOf(file);
    if (!fromModule) continue;
    for (const specifier of importsOf(file)) {
      const target = resolveImport(file, specifier);
      const toModule = moduleOf(target);
      if (toModule && toModule !== fromModule)
        found.push({ from: path.relative(MODULES_DIR, file), fromModule, to: path.relative(MODULES_DIR, target), toModule });
    }
  }
  return found;
}

let services: RapportServices | undefined;
/** Rapport's services assembled from the manifests, with no database or queue behind them (nothing here reaches one). */
function assembled(): RapportServices {
  services ??= createServices({
    config: loadConfig({ DATABASE_URL: 'postgres://localhost/unused' }),
    logger: createLogger('silent'),
    dataSource: undefined as never,
    // Only its configuration is read while assembling (the realtime fan-out connects at its first use).
    queues: { config: { kind: 'postgres', connectionString: 'postgres://localhost/unused' } } as never,
  });
  return services;
}

/**
 * Where a file of module `module` asks the request context for services
 * (`servicesOf('…')`) of another module, or with a name that is not a literal.
 */
function foreignServiceAccess(file: string, module: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/servicesOf\(\s*([^)]*?)\s*\)/g)) {
    const name = /^'([a-z0-9-]+)'$/.exec(match[1]!)?.[1];
    if (name !== module) found.push(`${file}: servicesOf(${match[1]})`);
  }
  return found;
}

const isException = (edge: ModuleImport) => FACADE_EXCEPTIONS.some((e) => e.from === edge.from && e.to === edge.toModule);

describe('the module import graph', () => {
  const edges = crossModuleImports();

  test('finds the imports between modules (the parser sees them)', () => {
    // customers' own files import nothing from interactions, but interactions resolves customers.
    expect(edges.some((e) => e.fromModule === 'interactions' && e.toModule === 'customers')).toBe(true);
  });

  test('a module imports another only through its facade, index.ts', () => {
    const offending = edges.filter((e) => path.basename(e.to) !== 'index.ts' && !isException(e)).map((e) => `${e.from} → ${e.to}`);
    expect(offending).toEqual([]);
  });

  test('a facade re-exports only its own module', () => {
    const offending = edges.filter((e) => path.basename(e.from) === 'index.ts').map((e) => `${e.from} → ${e.to}`);
    expect(offending).toEqual([]);
  });

  test('every exception is still needed', () => {
    for (const exception of FACADE_EXCEPTIONS) expect(edges.some((e) => e.from === exception.from && e.toModule === exception.to)).toBe(true);
  });

  test('modules do not depend on each other in a cycle', () => {
    const graph = new Map<string, Set<string>>();
    for (const edge of edges.filter((e) => !isException(e))) {
      graph.set(edge.fromModule, (graph.get(edge.fromModule) ?? new Set()).add(edge.toModule));
    }
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' → '));
        return;
      }
      state.set(node, 'visiting');
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  test('resolvers neither run SQL nor reach the queue: they call their module’s services', () => {
    const offending: string[] = [];
    for (const file of sourceFiles(MODULES_DIR).filter((f) => f.endsWith('.graphql.ts'))) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of [/services\.dataSource/, /services\.queues/, /services\.jobs/, /\.query\(/]) {
        if (pattern.test(text)) offending.push(`${path.relative(MODULES_DIR, file)}: ${pattern.source}`);
      }
    }
    expect(offending).toEqual([]);
  });

  test('every module has a manifest listed in src/modules/index.ts', () => {
    const folders = readdirSync(MODULES_DIR).filter((name) => statSync(path.join(MODULES_DIR, name)).isDirectory());
    expect(MODULES.map((m) => m.name).sort()).toEqual(folders.sort());
    for (const folder of folders) expect(existsSync(path.join(MODULES_DIR, folder, 'module.ts'))).toBe(true);
  });
});

describe('assembling modules', () => {
  const fake = (name: string, needs: string[], provides: string[]) => ({ name, needs, provides });

  test('orders modules after the providers of what they need', () => {
    const ordered = orderModules([fake('reports', ['scores'], ['reports']), fake('scores', ['db'], ['scores'])], ['db']);
    expect(ordered.map((m) => m.name)).toEqual(['scores', 'reports']);
  });

  test('fails on a need no module provides, naming the module and the service', () => {
    expect(() => orderModules([fake('reports', ['db', 'scores'], ['reports'])], ['db'])).toThrow(
      new ModuleAssemblyError('module reports needs "scores", which no module provides'),
    );
  });

  test('fails on a cycle, naming the modules in it', () => {
    const modules = [fake('a', ['fromC'], ['fromA']), fake('b', ['fromA'], ['fromB']), fake('c', ['fromB'], ['fromC'])];
    expect(() => orderModules(modules, [])).toThrow(new ModuleAssemblyError('module cycle: a → c → b → a'));
  });

  test('fails when two modules provide the same service', () => {
    expect(() => orderModules([fake('a', [], ['x']), fake('b', [], ['x'])], [])).toThrow(/module b provides "x", which module a provides already/);
  });

  test('orders the in-transaction subscribers of an event by `after`, and fails on a cycle or an unknown subscriber', () => {
    const sub = (consumer: string, after?: string[]) => ({ event: 'customers.refreshed', consumer, after });
    expect(orderSubscribers([sub('segments', ['scores']), sub('scores')]).map((s) => s.consumer)).toEqual(['scores', 'segments']);
    expect(() => orderSubscribers([sub('a', ['b']), sub('b', ['a'])])).toThrow(/customers.refreshed subscriber cycle: a → b → a/);
    expect(() => orderSubscribers([sub('segments', ['scores'])])).toThrow(
      /subscriber segments of customers.refreshed runs after "scores", which does not subscribe to it/,
    );
  });

  test('fails when a module’s subscriptions differ from its manifest’s events.subscribes, or a consumer is not named after it', () => {
    const handler = () => async () => undefined;
    const module = (subscribes: string[], consumer = 'reports') =>
      ({
        name: 'reports',
        events: { publishes: [], subscribes },
        subscriptions: [{ delivery: 'outbox', event: 'score.changed', consumer, create: handler }],
      }) as unknown as AnyModule;
    expect(() => checkSubscriptions([module([])])).toThrow(
      new ModuleAssemblyError("module reports subscribes to score.changed but its manifest's events.subscribes does not name it"),
    );
    expect(() => checkSubscriptions([module(['score.changed', 'segment.entered'])])).toThrow(
      new ModuleAssemblyError('module reports names segment.entered in events.subscribes but has no subscription to it'),
    );
    expect(() => checkSubscriptions([module(['score.changed'], 'alerts.scores')])).toThrow(/subscribes as "alerts.scores"/);
    expect(() => checkSubscriptions([module(['score.changed'], 'reports.scores')])).not.toThrow();
  });

  test('createServices stops at startup on a missing service or a cycle, before building any module', () => {
    // The assembler orders the manifests before it builds anything, so no database or queue is reached here.
    const deps = {
      config: loadConfig({ DATABASE_URL: 'postgres://localhost/unused' }),
      logger: createLogger('silent'),
      dataSource: undefined as never,
      queues: undefined as never,
    };
    const built: string[] = [];
    const module = (name: string, needs: string[], provides: string[]) => ({
      name,
      needs,
      provides,
      create: () => (built.push(name), Object.fromEntries(provides.map((p) => [p, {}]))),
    });
    expect(() => createServices(deps, [module('reports', ['dataSource', 'scores'], ['reports'])])).toThrow(
      'module reports needs "scores", which no module provides',
    );
    expect(() => createServices(deps, [module('a', ['fromB'], ['fromA']), module('b', ['fromA'], ['fromB'])])).toThrow('module cycle: a → b → a');
    expect(built).toEqual([]);
  });

  test("Rapport's own modules assemble, and a refresh scores before it re-evaluates segments", () => {
    const ordered = orderModules(MODULES, CORE_SERVICES);
    expect(ordered.length).toBe(MODULES.length);
    expect(() => checkSubscriptions(ordered)).not.toThrow();
    const refreshed = transactionSubscribers(ordered).get('customers.refreshed') ?? [];
    expect(refreshed.map((s) => s.consumer)).toEqual(['scores', 'recommendations', 'segments', 'identity']);
  });

  test('every subscription of the assembled services is one its module’s manifest declares, and every declared one exists', () => {
    const services = assembled();
    const actual = new Map<string, Set<string>>();
    for (const { consumer, event } of services.events.subscriptions()) {
      const module = MODULES.find((m) => consumer === m.name || consumer.startsWith(`${m.name}.`));
      const owner = module?.name ?? `(no module: ${consumer})`;
      actual.set(owner, (actual.get(owner) ?? new Set()).add(event));
    }
    const declared = new Map(MODULES.filter((m) => m.events?.subscribes.length).map((m) => [m.name, new Set<string>(m.events!.subscribes)]));
    expect(actual).toEqual(declared);
    // Segments follow a refresh, other segments' moves, and full recomputes.
    expect(declared.get('segments')).toEqual(new Set(['customers.refreshed', 'memberships.changed', 'recompute.completed']));
  });
});

describe('resolvers get their own module’s services, not the whole service bag', () => {
  const files = sourceFiles(MODULES_DIR).map((file) => ({ file: path.relative(MODULES_DIR, file), module: moduleOf(file)!, text: readFileSync(file, 'utf8') }));

  test('a module’s files ask the request context for their own module’s services only', () => {
    const uses = files.flatMap(({ text }) => [...text.matchAll(/servicesOf\(/g)]);
    // The resolvers of every module with GraphQL files call their services through it.
    expect(uses.length).toBeGreaterThan(40);
    expect(files.flatMap(({ file, module, text }) => foreignServiceAccess(file, module, text))).toEqual([]);
  });

  test('the check catches a resolver that reaches another module’s services, or names none', () => {
    expect(foreignServiceAccess('segments/segment.graphql.ts', 'segments', `resolve: (_r, _a, ctx) => ctx.servicesOf('customers').customers.get(id)`)).toEqual([
      "segments/segment.graphql.ts: servicesOf('customers')",
    ]);
    expect(foreignServiceAccess('segments/segment.graphql.ts', 'segments', `ctx.servicesOf(other)`)).toEqual([
      'segments/segment.graphql.ts: servicesOf(other)',
    ]);
    expect(foreignServiceAccess('segments/segment.graphql.ts', 'segments', `ctx.servicesOf('segments').segments.list()`)).toEqual([]);
  });

  test('the request context holds no service bag: each module sees what it provides and what its manifest needs, core infrastructure aside', () => {
    const all = assembled();
    const ctx = createContext(all) as unknown as Record<string, unknown>;
    expect(ctx.services).toBeUndefined();
    const core = new Set<string>(CORE_SERVICES);
    for (const module of MODULES) {
      const view = resolverServices(all, module.name as never) as Record<string, unknown>;
      const expected = [...module.provides, ...module.needs].filter((s) => !core.has(s));
      expect(Object.keys(view).sort()).toEqual([...expected].sort());
      for (const name of expected) expect(view[name]).toBe(all[name as keyof RapportServices]);
    }
    const segments = (ctx.servicesOf as (name: string) => Record<string, unknown>)('segments');
    expect(Object.keys(segments).sort()).toEqual(['customerRules', 'events', 'personalData', 'segments']);
    expect(segments.customers).toBeUndefined();
    expect(segments.dataSource).toBeUndefined();
    expect(() => resolverServices(all, 'nothing' as never)).toThrow('no module is named nothing');
  });
});

describe('docs/architecture.md', () => {
  test('holds the module map generated from the manifests (npm run architecture:diagram)', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const begin = doc.indexOf(MODULE_MAP_BEGIN);
    const end = doc.indexOf(MODULE_MAP_END);
    expect(begin).toBeGreaterThanOrEqual(0);
    expect(doc.slice(begin + MODULE_MAP_BEGIN.length, end).trim()).toBe(moduleMap(MODULES, CORE_SERVICES).trim());
  });
});

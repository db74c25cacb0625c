import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { ConnectorLoadError, validateConnectorDefinition, type ConnectorDefinition } from '../../connector-kit';

/** Where a plugin comes from: a folder of the plugins directory, or a package named in config. */
export interface PluginSource {
  kind: 'folder' | 'package';
  /** The folder path, or the package name (or path) as configured. */
  location: string;
}

/** A plugin the host found, loaded or not. */
export type LoadedPlugin =
  | { status: 'LOADED'; id: string; source: PluginSource; entry: string; definition: ConnectorDefinition }
  | { status: 'FAILED'; id: string; source: PluginSource; entry?: string; error: string; code?: string };

/** Options of {@link loadPlugins}. */
export interface LoadPluginsOptions {
  /** Folder whose sub-folders are plugins. Missing is fine (no plugins). */
  pluginsDir?: string;
  /** Package names (resolved from the working directory) or absolute paths. */
  packages?: readonly string[];
  /** How long loading all plugins may take in the check process before the one loading is declared hung. @defaultValue 10000 */
  loadTimeoutMs?: number;
}

/** Verdicts by entry file, kept per process: the same file is checked once (tests build many hosts). */
const preflightCache = new Map<string, 'ok' | string>();

/**
 * Requires the entries in a child process (synchronously, with a time limit) and
 * returns, per entry, 'ok' or why it must not be loaded here: it hung, or ended
 * the process. Require errors are left to the in-process load, which reports them.
 */
function preflight(entries: string[], timeoutMs: number): Map<string, 'ok' | string> {
  const verdicts = new Map<string, 'ok' | string>();
  let pending = entries.filter((e) => {
    const key = `${e}:${statSync(e).mtimeMs}`;
    const cached = preflightCache.get(key);
    if (cached) verdicts.set(e, cached);
    return !cached;
  });
  const script = path.join(__dirname, `plugin-preflight${path.extname(__filename)}`);
  const execArgv = __filename.endsWith('.ts') ? ['--require', 'tsx/cjs'] : [];
  while (pending.length > 0) {
    const child = spawnSync(process.execPath, [...execArgv, script, ...pending], { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 });
    const lines = (child.stdout ?? '').split('\n');
    const settled = new Set<number>();
    let last = -1;
    for (const line of lines) {
      const [word, index] = line.split(' ');
      if (word === 'loading') last = Number(index);
      else if (word === 'ok' || word === 'error') settled.add(Number(index));
    }
    pending.forEach((entry, i) => {
      if (settled.has(i)) verdicts.set(entry, 'ok');
    });
    const culprit = last >= 0 && !settled.has(last) ? last : -1;
    if (culprit < 0) {
      // Everything announced settled; anything never reached is checked in-process as usual.
      for (const entry of pending) if (!verdicts.has(entry)) verdicts.set(entry, 'ok');
      break;
    }
    const reason = child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT'
      ? `the plugin did not finish loading within ${timeoutMs} ms (it blocks or loops at load time)`
      : `the plugin ended the process while loading (exit ${child.status ?? child.signal})`;
    verdicts.set(pending[culprit], reason);
    pending = pending.slice(culprit + 1);
  }
  for (const [entry, verdict] of verdicts) preflightCache.set(`${entry}:${statSync(entry).mtimeMs}`, verdict);
  return verdicts;
}

/**
 * Finds and loads every plugin: each sub-folder of `pluginsDir` (its package.json
 * `main`, else `index.ts`/`index.js`) and each configured package. A plugin that
 * fails to load or validate is returned as FAILED with its error; it never stops
 * the others. Ids must be unique: a second plugin with a taken id fails.
 */
export function loadPlugins(options: LoadPluginsOptions): LoadedPlugin[] {
  const sources: PluginSource[] = [];
  if (options.pluginsDir && existsSync(options.pluginsDir)) {
    for (const entry of readdirSync(options.pluginsDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') {
        sources.push({ kind: 'folder', location: path.join(options.pluginsDir, entry.name) });
      }
    }
  }
  for (const name of options.packages ?? []) sources.push({ kind: 'package', location: name });

  // Load every plugin once in a child process first: one that hangs or ends the process while
  // loading is reported and never loaded here, so it cannot stop the host from starting.
  const entries = sources.map((source) => {
    try {
      return resolveEntry(source);
    } catch {
      return undefined;
    }
  });
  const verdicts = preflight(entries.filter((e): e is string => e !== undefined), options.loadTimeoutMs ?? 10_000);

  const plugins: LoadedPlugin[] = [];
  const byId = new Map<string, LoadedPlugin>();
  for (const [i, source] of sources.entries()) {
    const entry = entries[i];
    const verdict = entry ? verdicts.get(entry) : undefined;
    const plugin: LoadedPlugin =
      verdict && verdict !== 'ok'
        ? { status: 'FAILED', id: source.kind === 'folder' ? path.basename(source.location) : source.location, source, entry, code: 'CONNECTOR_LOAD_FAILED', error: verdict }
        : loadPlugin(source);
    const taken = byId.get(plugin.id);
    if (plugin.status === 'LOADED' && taken?.status === 'LOADED') {
      plugins.push({
        status: 'FAILED',
        id: plugin.id,
        source,
        entry: plugin.entry,
        code: 'CONNECTOR_LOAD_DUPLICATE_ID',
        error: `Connector id "${plugin.id}" is already used by ${taken.source.location}; ids must be unique`,
      });
      continue;
    }
    if (!taken || plugin.status === 'LOADED') byId.set(plugin.id, plugin);
    plugins.push(plugin);
  }
  return plugins;
}

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
let kitAliased = false;

/**
 * Lets a plugin installed as a package (outside this checkout) import
 * `rapport/connector-kit` and `rapport/connector-kit/testing` without bundling
 * Rapport: when its own resolution finds no `rapport`, the kit resolves to this
 * host's copy — the same module the host validates with. A plugin that ships its
 * own `rapport` keeps it.
 */
export function aliasConnectorKit(): void {
  if (kitAliased) return;
  kitAliased = true;
  const hostRequire = createRequire(__filename);
  const moduleWithResolver = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = moduleWithResolver._resolveFilename;
  // The host's own copy of the kit, compiled (dist/) or not (src/), wherever this file runs from.
  const hostKit: Record<string, string> = {
    'rapport/connector-kit': path.join(__dirname, '../../connector-kit/index'),
    'rapport/connector-kit/testing': path.join(__dirname, '../../connector-kit/testing/index'),
  };
  moduleWithResolver._resolveFilename = function (request, parent, isMain, options) {
    let resolved: string;
    try {
      resolved = original.call(this, request, parent, isMain, options);
    } catch (error) {
      if (hostKit[request]) return hostRequire.resolve(hostKit[request]);
      if (request === 'rapport' || request.startsWith('rapport/')) return hostRequire.resolve(request);
      throw error;
    }
    // Only a `rapport` installed in the plugin's own node_modules is kept; the repository's
    // self-reference (sources) is replaced by the host's running copy.
    if (hostKit[request] && !resolved.includes(`${path.sep}node_modules${path.sep}`)) return hostRequire.resolve(hostKit[request]);
    return resolved;
  };
}

/** Loads one plugin; never throws. */
export function loadPlugin(source: PluginSource): LoadedPlugin {
  aliasConnectorKit();
  const fallbackId = source.kind === 'folder' ? path.basename(source.location) : source.location;
  let entry: string | undefined;
  try {
    entry = resolveEntry(source);
    // require, not import(): TypeScript plugins then load under tsx and Jest alike.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(entry) as { default?: unknown };
    const candidate = exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported;
    const definition = validateConnectorDefinition(candidate);
    return { status: 'LOADED', id: definition.id, source, entry, definition };
  } catch (error) {
    const id = error instanceof ConnectorLoadError && error.connectorId ? error.connectorId : fallbackId;
    return {
      status: 'FAILED',
      id,
      source,
      entry,
      code: error instanceof ConnectorLoadError ? error.code : 'CONNECTOR_LOAD_FAILED',
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The file to require for a plugin source. */
export function resolveEntry(source: PluginSource): string {
  if (source.kind === 'package') {
    const base = path.isAbsolute(source.location) ? source.location : require.resolve(source.location, { paths: [process.cwd()] });
    return existsSync(base) && !base.match(/\.[cm]?[jt]s$/) ? folderEntry(base) : base;
  }
  return folderEntry(source.location);
}

function folderEntry(folder: string): string {
  const manifest = path.join(folder, 'package.json');
  if (existsSync(manifest)) {
    const main = (JSON.parse(readFileSync(manifest, 'utf8')) as { main?: unknown }).main;
    if (typeof main === 'string') return path.resolve(folder, main);
  }
  for (const name of ['index.ts', 'index.js', 'index.cjs']) {
    const file = path.join(folder, name);
    if (existsSync(file)) return file;
  }
  throw new Error(`${folder} has no index.ts, index.js or package.json "main"`);
}

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, errorMessage } from '../../errors/catalog';
import type { PluginManifest } from '../../plugin-host/protocol';
import { describePlugin } from './plugin-hosts';
import type { SandboxOptions } from './plugin-sandbox';

/** Where a plugin comes from: a folder of the plugins directory, or a package named in config. */
export interface PluginSource {
  kind: 'folder' | 'package';
  /** The folder path, or the package name (or path) as configured. */
  location: string;
}

/** A plugin the host found, loaded or not. A loaded plugin is known by its manifest: its code runs only in plugin hosts. */
export type LoadedPlugin =
  | { status: 'LOADED'; id: string; source: PluginSource; entry: string; root: string; manifest: PluginManifest }
  | { status: 'FAILED'; id: string; source: PluginSource; entry?: string; error: string; code?: string };

/** The heap limit of plugin hosts when none is configured (RAPPORT_PLUGIN_MAX_HEAP_MB). */
export const DEFAULT_PLUGIN_MAX_HEAP_MB = 256;

/** Options of {@link loadPlugins}. */
export interface LoadPluginsOptions {
  /** Folder whose sub-folders are plugins. Missing is fine (no plugins). */
  pluginsDir?: string;
  /** Package names (resolved from the working directory) or absolute paths. */
  packages?: readonly string[];
  /** How long loading one plugin may take in its host before it is declared hung. @defaultValue 10000 */
  loadTimeoutMs?: number;
  /** The sandbox plugins load in. @defaultValue a heap limit of {@link DEFAULT_PLUGIN_MAX_HEAP_MB} MiB */
  sandbox?: SandboxOptions;
}

/** Manifests by entry file, its modification time and the load options, kept per process: tests build many registries. */
const described = new Map<string, ReturnType<typeof describePlugin>>();

/**
 * Finds every plugin — each sub-folder of `pluginsDir` (its package.json
 * `main`, else `index.ts`/`index.js`) and each configured package — and loads
 * each once in a sandboxed plugin host, which answers its manifest (id,
 * version, names, config fields, secret fields, capabilities). No plugin code
 * runs in this process. A plugin that throws, fails validation, hangs or ends
 * its host while loading is returned as FAILED with the reason; it never stops
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

  const sandbox = options.sandbox ?? { maxHeapMb: DEFAULT_PLUGIN_MAX_HEAP_MB };
  const timeoutMs = options.loadTimeoutMs ?? 10_000;
  const plugins: LoadedPlugin[] = [];
  const byId = new Map<string, LoadedPlugin>();
  for (const source of sources) {
    const plugin = loadPlugin(source, sandbox, timeoutMs);
    const taken = byId.get(plugin.id);
    if (plugin.status === 'LOADED' && taken?.status === 'LOADED') {
      plugins.push({
        status: 'FAILED',
        id: plugin.id,
        source,
        entry: plugin.entry,
        code: ErrorCode.CONNECTOR_LOAD_DUPLICATE_ID,
        error: errorMessage('CONNECTOR_LOAD_DUPLICATE_ID', { id: plugin.id, location: taken.source.location }),
      });
      continue;
    }
    if (!taken || plugin.status === 'LOADED') byId.set(plugin.id, plugin);
    plugins.push(plugin);
  }
  return plugins;
}

/** Loads one plugin in a plugin host; never throws. */
function loadPlugin(source: PluginSource, sandbox: SandboxOptions, timeoutMs: number): LoadedPlugin {
  const fallbackId = source.kind === 'folder' ? path.basename(source.location) : source.location;
  let entry: string;
  let root: string;
  try {
    entry = path.resolve(resolveEntry(source));
    root = path.resolve(pluginRoot(source, entry));
    const relative = path.relative(root, entry);
    if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`the entry ${entry} is outside the plugin folder ${root}`);
  } catch (error) {
    return { status: 'FAILED', id: fallbackId, source, code: ErrorCode.CONNECTOR_LOAD_FAILED, error: error instanceof Error ? error.message : String(error) };
  }
  const key = `${entry}:${statSync(entry).mtimeMs}:${root}:${sandbox.maxHeapMb}:${timeoutMs}`;
  let outcome = described.get(key);
  if (!outcome) {
    outcome = describePlugin({ label: path.basename(root), entry, root }, sandbox, timeoutMs);
    described.set(key, outcome);
  }
  if (outcome.ok) return { status: 'LOADED', id: outcome.manifest.id, source, entry, root, manifest: outcome.manifest };
  return { status: 'FAILED', id: outcome.connectorId ?? fallbackId, source, entry, code: outcome.code, error: outcome.error };
}

/**
 * The folder a plugin's host may read: the plugins-directory folder; the
 * configured folder; for a package given by name or by a file, the package's
 * folder (the nearest one above its entry with a named package.json, after
 * links: `npm install ../my-connector` links it), so that its own
 * node_modules is found beside it.
 */
function pluginRoot(source: PluginSource, entry: string): string {
  if (source.kind === 'folder') return path.resolve(source.location);
  if (path.isAbsolute(source.location) && statSync(source.location).isDirectory()) return source.location;
  for (let folder = path.dirname(entry); path.dirname(folder) !== folder && path.basename(folder) !== 'node_modules'; folder = path.dirname(folder)) {
    // Never Rapport's own folder or one above it (a plugin file inside the checkout would otherwise reach Rapport's
    // package.json), nor a folder holding Rapport's data: the host could read the keys and the database.
    if (contains(folder, RAPPORT_ROOT) || existsSync(path.join(folder, '.rapport'))) break;
    const manifest = path.join(folder, 'package.json');
    if (existsSync(manifest) && typeof (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'string') return folder;
  }
  return path.dirname(entry);
}

/** The folder Rapport is installed in (its package.json), whose files no plugin host may read. */
const RAPPORT_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Whether `folder` is `inner` or one of its ancestors. */
function contains(folder: string, inner: string): boolean {
  const relative = path.relative(folder, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
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

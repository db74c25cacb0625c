/**
 * How a plugin host process is started: what it may read, under which user,
 * with which environment and heap, and the TypeScript it may load.
 *
 * - Node's permission model (`--permission`, or `--experimental-permission`
 *   on Node 20) with read access to the plugin's own folder, the project's
 *   `node_modules` (the plugin's dependencies and the kit's), the connector
 *   kit and the host script only. No write access, no child processes, no
 *   worker threads, no native addons, no WASI.
 * - An environment of its own: `TZ` (when Rapport has one), nothing else.
 * - A heap limit (`--max-old-space-size`).
 * - When Rapport runs as root, the unprivileged system user `rapport-plugin`.
 *
 * TypeScript cannot be compiled inside the sandbox (esbuild needs a worker
 * and a child process), so Rapport compiles it — compiling runs no plugin
 * code — and sends the output with the init message; the host's loader
 * takes `.ts` files from there and nowhere else.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { HostHttpOptions, HostInit } from '../../plugin-host/protocol';
import { encodeFrame } from '../../plugin-host/protocol';

const EXTENSION = path.extname(__filename);
/**
 * The connector kit's folder: its TypeScript sources when Rapport runs from
 * sources (the workspace package packages/connector-kit), its compiled output
 * (the package's entry, dist/) when Rapport runs compiled.
 */
const KIT_DIR =
  EXTENSION === '.ts'
    ? path.resolve(__dirname, '../../../packages/connector-kit/src')
    : path.dirname(createRequire(__filename).resolve('@rapport/connector-kit'));
/** The folder of the host script and its protocol. */
const HOST_DIR = path.resolve(__dirname, '../../plugin-host');
const KIT_ENTRY = path.join(KIT_DIR, `index${EXTENSION}`);
const HOST_SCRIPT = path.join(HOST_DIR, `host${EXTENSION}`);

/** The system user plugin hosts run as when Rapport runs as root. */
export const PLUGIN_USER = 'rapport-plugin';

/** The most TypeScript files compiled for one plugin folder: a folder with more is refused. */
const MAX_PLUGIN_SOURCES = 2_000;

/** Where a plugin's code is. */
export interface PluginLocation {
  /** A name for logs and `ps` (the plugin id, or its folder name before it is known). */
  label: string;
  /** The file the host requires. */
  entry: string;
  /** The plugin's folder: readable by its host, with everything under it. */
  root: string;
}

/** Limits and options every host of this Rapport process gets. */
export interface SandboxOptions {
  /** `--max-old-space-size` of each host, in MiB. */
  maxHeapMb: number;
  /** Added to every plugin's `ctx.http`. */
  http?: HostHttpOptions;
}

/** How to start one host. */
export interface HostLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** The framed init message, the first bytes of the host's stdin. */
  init: Buffer;
}

/** A plugin that cannot be run in a sandbox (a link out of its folder, an unreadable folder, no unprivileged user). */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
}

/** The permission flag of the running Node: `--permission` from Node 22, `--experimental-permission` on Node 20. */
export function permissionFlag(): string {
  const flags = process.allowedNodeEnvironmentFlags;
  if (flags.has('--permission')) return '--permission';
  if (flags.has('--experimental-permission')) return '--experimental-permission';
  throw new SandboxError(`Node ${process.version} has no permission model; plugin hosts need Node 20.19 or later`);
}

/**
 * The JavaScript the host process starts with (`node -e`): it reads the init
 * message, installs the loader of precompiled TypeScript and the alias of
 * `@rapport/connector-kit` to Rapport's kit, then hands over to the host script.
 */
const BOOTSTRAP = `'use strict';
const Module = require('node:module');
let buffered = Buffer.alloc(0);
const onData = (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  if (buffered.length < 4) return;
  const length = buffered.readUInt32BE(0);
  if (buffered.length < 4 + length) return;
  process.stdin.off('data', onData);
  process.stdin.pause();
  const init = JSON.parse(buffered.subarray(4, 4 + length).toString('utf8'));
  const rest = buffered.subarray(4 + length);
  buffered = undefined;
  const files = new Map(Object.entries(init.files));
  init.files = {};
  const compiled = (module, filename) => {
    const code = files.get(filename);
    if (code === undefined) throw new Error('cannot load ' + filename + ': a plugin host loads TypeScript only from the plugin folder and the connector kit');
    module._compile(code, filename);
  };
  for (const extension of ['.ts', '.cts', '.mts']) Module._extensions[extension] = compiled;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, isMain, options) {
    let resolved;
    try {
      resolved = resolve.call(this, request, parent, isMain, options);
    } catch (error) {
      if (request === '@rapport/connector-kit') return init.kit;
      if (/^\\.\\.?\\//.test(request) && request.endsWith('.js')) {
        try { return resolve.call(this, request.slice(0, -3) + '.ts', parent, isMain, options); } catch {}
      }
      throw error;
    }
    // Only a copy of the kit the plugin ships in its own node_modules is kept; otherwise Rapport's.
    if (request === '@rapport/connector-kit' && !resolved.includes('/node_modules/')) return init.kit;
    return resolved;
  };
  require(init.host).startHost(init, rest);
};
process.stdin.on('data', onData);
`;

/** Builds how to start a host for a plugin; throws SandboxError when the plugin cannot be sandboxed. */
export function hostLaunch(plugin: PluginLocation, options: SandboxOptions, mode: HostInit['mode']): HostLaunch {
  const user = pluginUser();
  const readable = readablePaths(plugin);
  if (user) for (const folder of readable) assertReadableBy(user, folder);
  const sources = [...typeScriptIn(KIT_DIR, { skip: ['testing'] }), ...typeScriptIn(HOST_DIR), ...pluginSources(plugin.root, readable)];
  const files: Record<string, string> = {};
  for (const file of sources) files[file] = compile(file);
  const init: HostInit & { host: string } = { type: 'init', mode, entry: plugin.entry, kit: KIT_ENTRY, files, http: options.http ?? {}, host: HOST_SCRIPT };
  return {
    command: process.execPath,
    args: [
      permissionFlag(),
      ...readable.map((p) => `--allow-fs-read=${p}`),
      // Where Node's permission model also gates the network (Node 25), outbound connections stay open: the host's socket guard
      // (src/plugin-host/network.ts) and the kit client's egress guard decide what a plugin may reach.
      ...(process.allowedNodeEnvironmentFlags.has('--allow-net') ? ['--allow-net'] : []),
      `--max-old-space-size=${options.maxHeapMb}`,
      '--no-addons',
      '--disable-warning=ExperimentalWarning',
      '--enable-source-maps',
      '-e',
      BOOTSTRAP,
      // Shown by `ps`: which plugin this process runs.
      'rapport-plugin-host',
      plugin.label,
    ],
    cwd: plugin.root,
    env: process.env.TZ ? { TZ: process.env.TZ } : {},
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    init: encodeFrame(init),
  };
}

/**
 * What a plugin's host may read: its folder, the node_modules folders Node
 * looks for its dependencies in (each `node_modules` from its folder up to the
 * file system's root: the package's own, and the one npm hoisted them to when
 * the package was installed elsewhere), the project's node_modules (the kit's
 * dependencies and the loader's), the kit and the host script. Never the rest
 * of Rapport's sources, its data directory or its keys.
 */
export function readablePaths(plugin: PluginLocation): string[] {
  const paths = new Set<string>();
  const add = (p: string) => {
    paths.add(path.resolve(p));
    try {
      paths.add(realpathSync(p));
    } catch {
      // A path that does not exist grants nothing.
    }
  };
  add(plugin.root);
  for (const folder of dependencyFolders(plugin.root)) add(folder);
  add(KIT_DIR);
  add(HOST_DIR);
  add(projectNodeModules());
  for (const p of paths) {
    // Node 20 reads a comma as a separator between paths.
    if (permissionFlag() === '--experimental-permission' && p.includes(','))
      throw new SandboxError(`the path ${p} contains a comma, which Node 20's permission model cannot express`);
  }
  return [...paths];
}

/** The existing node_modules folders Node's resolution visits from a plugin's folder (as written, and after links), nearest first. */
function dependencyFolders(root: string): string[] {
  const folders: string[] = [];
  const starts = [path.resolve(root)];
  try {
    starts.push(realpathSync(root));
  } catch {
    // A folder that does not exist has no dependencies.
  }
  for (const start of starts) {
    for (let folder = start; ; folder = path.dirname(folder)) {
      const candidate = path.join(folder, 'node_modules');
      if (path.basename(folder) !== 'node_modules' && existsSync(candidate) && statSync(candidate).isDirectory()) folders.push(candidate);
      if (path.dirname(folder) === folder) break;
    }
  }
  return folders;
}

/** The node_modules folder the kit's own dependencies come from. */
function projectNodeModules(): string {
  const zod = createRequire(KIT_ENTRY).resolve('zod');
  const parts = zod.split(path.sep);
  const index = parts.lastIndexOf('node_modules');
  return parts.slice(0, index + 1).join(path.sep);
}

/**
 * The TypeScript files of a plugin folder, refusing a folder with a symbolic
 * link out of what the host may read (the permission model checks the path
 * asked for, not where a link leads).
 */
function pluginSources(root: string, readable: string[]): string[] {
  const inside = (target: string) => readable.some((allowed) => target === allowed || target.startsWith(allowed + path.sep));
  const files: string[] = [];
  const visit = (folder: string, depth: number) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(full);
        } catch {
          continue; // A dangling link reads nothing.
        }
        if (!inside(target)) throw new SandboxError(`${full} is a symbolic link to ${target}, outside what the plugin may read`);
        continue;
      }
      if (entry.isDirectory()) {
        // Dependencies are JavaScript; their links are checked, their files are not compiled.
        if (entry.name === 'node_modules') visitLinks(full, depth + 1);
        else if (!entry.name.startsWith('.') && depth < 32) visit(full, depth + 1);
      } else if (isTypeScript(entry.name)) {
        files.push(full);
        if (files.length > MAX_PLUGIN_SOURCES) throw new SandboxError(`${root} holds more than ${MAX_PLUGIN_SOURCES} TypeScript files`);
      }
    }
  };
  const visitLinks = (folder: string, depth: number) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(full);
        } catch {
          continue;
        }
        if (!inside(target)) throw new SandboxError(`${full} is a symbolic link to ${target}, outside what the plugin may read`);
      } else if (entry.isDirectory() && depth < 4 && (entry.name.startsWith('@') || entry.name === '.bin')) visitLinks(full, depth + 1);
    }
  };
  try {
    visit(root, 0);
  } catch (error) {
    if (error instanceof SandboxError) throw error;
    throw new SandboxError(`cannot read the plugin folder ${root}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return files;
}

function typeScriptIn(folder: string, options: { skip?: string[] } = {}): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory() && !options.skip?.includes(entry.name)) files.push(...typeScriptIn(full));
    else if (entry.isFile() && isTypeScript(entry.name)) files.push(full);
  }
  return files;
}

function isTypeScript(name: string): boolean {
  return /\.[cm]?ts$/.test(name) && !name.endsWith('.d.ts') && !/\.test\.[cm]?ts$/.test(name);
}

type Esbuild = typeof import('esbuild');
let esbuild: Esbuild | undefined;
const compiled = new Map<string, { mtimeMs: number; size: number; code: string }>();

/** CommonJS of one TypeScript file, compiled by the esbuild that tsx (Rapport's own TypeScript loader) uses; cached by mtime and size. */
function compile(file: string): string {
  const stat = statSync(file);
  const cached = compiled.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.code;
  esbuild ??= createRequire(createRequire(__filename).resolve('tsx/package.json'))('esbuild') as Esbuild;
  const { code } = esbuild.transformSync(readFileSync(file, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: file, sourcemap: 'inline' });
  compiled.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, code });
  return code;
}

/**
 * Fails when the plugin user cannot list a folder the host needs (by the mode
 * bits of the folder and each folder above it), so the plugin fails to load
 * with the reason rather than with "cannot find module".
 */
function assertReadableBy(owner: { uid: number; gid: number }, folder: string): void {
  const can = (target: string, bits: number) => {
    const stat = statSync(target);
    const shift = stat.uid === owner.uid ? 6 : stat.gid === owner.gid ? 3 : 0;
    return ((stat.mode >> shift) & bits) === bits;
  };
  let current = path.resolve(folder);
  if (!can(current, 0o5))
    throw new SandboxError(
      `${current} is not readable by the user "${PLUGIN_USER}" that plugin hosts run as (Rapport runs as root); make it readable (chmod o+rX)`,
    );
  while (path.dirname(current) !== current) {
    current = path.dirname(current);
    if (!can(current, 0o1))
      throw new SandboxError(
        `${current} cannot be entered by the user "${PLUGIN_USER}" that plugin hosts run as (Rapport runs as root); make it searchable (chmod o+x)`,
      );
  }
}

let user: { uid: number; gid: number } | null | undefined;

/**
 * The unprivileged user hosts run as when Rapport runs as root (undefined
 * otherwise): `rapport-plugin`, a system user created if missing, as embedded
 * Postgres does for `postgres`. Throws SandboxError when it cannot be created:
 * plugins never run as root.
 */
export function pluginUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (user) return user;
  const lookup = () => {
    const id = (flag: string) => Number(execFileSync('id', [flag, PLUGIN_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  };
  let found: { uid: number; gid: number } | undefined;
  try {
    found = lookup();
  } catch {
    const attempts: [string, string[]][] = [
      ['useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', PLUGIN_USER]],
      // BusyBox (Alpine).
      ['adduser', ['-S', '-D', '-H', '-s', '/sbin/nologin', PLUGIN_USER]],
    ];
    const failures: string[] = [];
    for (const [command, args] of attempts) {
      try {
        execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        break;
      } catch (error) {
        failures.push(`${command}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
    }
    try {
      // Also when another process created the user meanwhile.
      found = lookup();
    } catch {
      throw new SandboxError(
        `Rapport runs as root and could not create the unprivileged user "${PLUGIN_USER}" that plugins run as (${failures.join('; ')}); create it, or run Rapport as another user`,
      );
    }
  }
  if (found.uid === 0 || found.gid === 0 || !Number.isInteger(found.uid) || !Number.isInteger(found.gid))
    throw new SandboxError(`the user "${PLUGIN_USER}" must not be root`);
  user = found;
  return user;
}

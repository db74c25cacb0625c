import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/embedded-postgres';
import { findFreePort } from '../../src/infra/net';

/**
 * Starts the real backing services once per Jest run, on free loopback ports
 * and in a temporary directory, so the suite can run beside `npm start` and
 * twice in a row. Each test file then creates its own database.
 */
export default async function globalSetup(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'rapport-test-'));
  // The cluster may run as the `postgres` system user (when we are root): let it reach its directory.
  chmodSync(root, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), ephemeral: true });
  process.env.RAPPORT_TEST_PG_ADMIN_URL = pg.adminUrl;
  process.env.RAPPORT_TEST_ROOT = root;

  const redis = await startRedis(root);
  if (redis) process.env.RAPPORT_TEST_REDIS_URL = redis.url;
  else
    process.env.RAPPORT_TEST_REDIS_MISSING =
      'redis-server is not on PATH: the Redis queue-backend tests need it (Debian: apt-get install -y redis-server)';

  (globalThis as Record<string, unknown>).__rapportTestServices = { pg, redis: redis?.process, root };
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

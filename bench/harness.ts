import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../src/infra/embedded-postgres';

/** A throw-away embedded cluster for one benchmark run (durable settings, like `npm start`). */
export async function benchCluster(): Promise<{ pg: EmbeddedPostgresHandle; createDatabase(name: string): Promise<string>; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-bench-'));
  chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir });
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
    async close() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `--name value` integer flags with defaults: positive, or also 0 for the names in `zeroAllowed`. */
export function intFlags<T extends Record<string, number>>(defaults: T, zeroAllowed: readonly (keyof T & string)[] = []): T {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: 'string' as const }])),
  });
  const out = { ...defaults };
  for (const [k, v] of Object.entries(values)) {
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

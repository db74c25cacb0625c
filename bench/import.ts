/**
 * bench/import: a generated interactions CSV imported by Rapport's bulk file
 * import (parse and check every row, COPY into staging, set-based merge with
 * identity resolution and dedup) against the floor: `psql \copy` of the same
 * rows straight into the same interactions table, in the same run, on the same
 * cluster. Prints both rates and the ratio; never fails on time.
 *
 *   npx tsx bench/import.ts --rows 1000000 --customers 200000 --rounds 3 --connections 2
 *
 * The psql file carries `customer_id` where Rapport's carries the email (COPY
 * cannot resolve identities); everything else is the same rows. Customers and
 * their email identifiers exist before both runs, and interactions are emptied
 * between them, so both write the same rows into the same indexes.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Client } from 'pg';
import { openDatabase } from '../src/app';
import { createLogger } from '../src/infra/logger';
import { ConnectorRunService } from '../src/modules/connectors/connector-run.service';
import { FileImportService } from '../src/modules/connectors/file-import.service';
import { Random } from '../src/seed/random';
import { benchCluster, fmt, intFlags, mib, processCpuSeconds } from './harness';

const EVENTS = [
  ['email', 'open'],
  ['web', 'page_view'],
  ['payment', 'purchase'],
  ['support', 'ticket_opened'],
  ['phone', 'call'],
] as const;

async function writeFiles(dir: string, rows: number, customers: number, seed: number): Promise<{ rapportFile: string; copyFile: string }> {
  const random = new Random(seed);
  const rapportFile = path.join(dir, 'interactions.csv');
  const copyFile = path.join(dir, 'interactions-by-id.csv');
  const rapport = createWriteStream(rapportFile);
  const raw = createWriteStream(copyFile);
  rapport.write('email,channel,type,occurred_at,value,currency,source,external_id\n');
  raw.write('customer_id,channel,type,occurred_at,value,currency,source,external_id\n');
  const start = Date.UTC(2024, 0, 1);
  let a: string[] = [];
  let b: string[] = [];
  for (let i = 0; i < rows; i++) {
    const customer = random.int(1, customers);
    const [channel, type] = EVENTS[random.int(0, EVENTS.length - 1)]!;
    const at = new Date(start + random.int(0, 365 * 24 * 3600) * 1000).toISOString();
    const value = type === 'purchase' ? (random.int(100, 50_000) / 100).toFixed(2) : '';
    const currency = value ? 'EUR' : '';
    const tail = `${channel},${type},${at},${value},${currency},bench,e${i}`;
    a.push(`c${customer}@bench.example,${tail}`);
    b.push(`${customer},${tail}`);
    if (a.length === 10_000) {
      if (!rapport.write(a.join('\n') + '\n')) await once(rapport, 'drain');
      if (!raw.write(b.join('\n') + '\n')) await once(raw, 'drain');
      a = [];
      b = [];
    }
  }
  if (a.length) {
    rapport.write(a.join('\n') + '\n');
    raw.write(b.join('\n') + '\n');
  }
  await Promise.all([new Promise((r) => rapport.end(r)), new Promise((r) => raw.end(r))]);
  return { rapportFile, copyFile };
}

async function main() {
  const scale = intFlags({ rows: 1_000_000, customers: 200_000, batch: 50_000, seed: 1, rounds: 1, connections: 2 });
  console.log(
    `bench/import: ${fmt(scale.rows)} interactions over ${fmt(scale.customers)} customers; Rapport batches of ${fmt(scale.batch)} rows, merged on ${scale.connections} connections (psql \\copy: one)`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-bench-import-'));
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_import');
    const dataSource = await openDatabase(url, 'bench-import');
    const client = new Client({ connectionString: url });
    await client.connect();

    let t0 = Date.now();
    await client.query(`INSERT INTO customers (kind) SELECT 'PERSON' FROM generate_series(1, $1)`, [scale.customers]);
    await client.query(`INSERT INTO customer_identifiers (customer_id, type, value) SELECT id, 'email', 'c' || id || '@bench.example' FROM customers`);
    console.log(`  setup: ${fmt(scale.customers)} customers with email identifiers in ${fmt((Date.now() - t0) / 1000, 1)} s`);
    t0 = Date.now();
    const { rapportFile, copyFile } = await writeFiles(dir, scale.rows, scale.customers, scale.seed);
    console.log(
      `  files: ${mib(statSync(rapportFile).size)} (Rapport, by email), ${mib(statSync(copyFile).size)} (psql, by customer_id) written in ${fmt((Date.now() - t0) / 1000, 1)} s`,
    );

    const imports = new FileImportService(dataSource, new ConnectorRunService(dataSource), createLogger('silent'), dir);
    const totals = { copySeconds: 0, importSeconds: 0, importCpu: 0, importPgCpu: 0 };
    // Rounds alternate the two paths, so load from other processes on the machine falls on both.
    for (let round = 1; round <= scale.rounds; round++) {
      if (scale.rounds > 1) console.log(`  round ${round}/${scale.rounds}`);
      await client.query('TRUNCATE interactions');
      await client.query('UPDATE customers SET dirty_since = NULL');
      await client.query('VACUUM ANALYZE customers');
      await client.query('CHECKPOINT');
      t0 = Date.now();
      const psql = spawnSync(
        'psql',
        [
          url,
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          `\\copy interactions (customer_id, channel, type, occurred_at, value, currency, source, external_id) FROM '${copyFile}' WITH (FORMAT csv, HEADER true)`,
        ],
        { encoding: 'utf8' },
      );
      const copySeconds = (Date.now() - t0) / 1000;
      if (psql.status !== 0) throw new Error(`psql \\copy failed: ${psql.stderr}`);
      totals.copySeconds += copySeconds;
      console.log(`  psql \\copy:     ${fmt(scale.rows)} rows in ${fmt(copySeconds, 2)} s = ${fmt(scale.rows / copySeconds)} rows/s`);

      await client.query('TRUNCATE interactions');
      await client.query('CHECKPOINT');
      let peakRss = process.memoryUsage().rss;
      let peakHeap = process.memoryUsage().heapUsed;
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        peakRss = Math.max(peakRss, usage.rss);
        peakHeap = Math.max(peakHeap, usage.heapUsed);
      }, 100);
      const pg0 = cluster.cpuSeconds();
      const cpu0 = pg0 + processCpuSeconds();
      t0 = Date.now();
      const summary = await imports.importFile(rapportFile, { batchRows: scale.batch, connections: scale.connections });
      const importSeconds = (Date.now() - t0) / 1000;
      clearInterval(sampler);
      totals.importSeconds += importSeconds;
      const pg1 = cluster.cpuSeconds();
      totals.importCpu += pg1 + processCpuSeconds() - cpu0;
      totals.importPgCpu += pg1 - pg0;
      console.log(
        `  rapport import: ${fmt(summary.received)} rows in ${fmt(importSeconds, 2)} s = ${fmt(scale.rows / importSeconds)} rows/s ` +
          `(${summary.status}: ${fmt(summary.accepted)} accepted, ${fmt(summary.duplicates)} duplicates, ${fmt(summary.rejected)} rejected); peak RSS ${mib(peakRss)}, peak heap ${mib(peakHeap)}`,
      );
    }
    const copyRate = (scale.rows * scale.rounds) / totals.copySeconds;
    const importRate = (scale.rows * scale.rounds) / totals.importSeconds;
    console.log(`  overall: psql \\copy ${fmt(copyRate)} rows/s, rapport import ${fmt(importRate)} rows/s`);
    console.log(`  ratio: Rapport at ${fmt((importRate / copyRate) * 100, 1)}% of the raw COPY rate (target: at least 80%)`);
    // Where the import's time goes. (psql's own backend ends with it, before its CPU can be read reliably.)
    const rows = scale.rows * scale.rounds;
    console.log(
      `  CPU per 1,000 rows imported: ${fmt((totals.importCpu * 1e6) / rows, 1)} ms ` +
        `(Postgres ${fmt((totals.importPgCpu * 1e6) / rows, 1)} ms, the importing process ${fmt(((totals.importCpu - totals.importPgCpu) * 1e6) / rows, 1)} ms)`,
    );
    await client.end();
    await dataSource.destroy();
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

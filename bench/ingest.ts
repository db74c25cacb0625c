/**
 * bench/ingest: interactions through `recordInteractions` over real HTTP, in
 * batches, against the floor: COPY of the same rows into the same table in the
 * same run. Prints figures; never fails on time.
 *
 *   npm run bench:ingest -- --interactions 200000 --customers 20000 --batch 1000 --concurrency 2
 *   npm run bench:ingest -- --gateways 2 --concurrency 4
 *
 * By default the gateway runs inside the bench process (the client's work
 * shares its event loop; request bodies are built before the clock starts, so
 * what remains is sending them and reading the results). `--gateways N` starts N `rapport gateway` processes,
 * as a production deployment scales the gateway, and sends the batches to
 * them in turn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { print } from 'graphql';
import { Client } from 'pg';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { copyRows } from '../src/seed/copy';
import { Random } from '../src/seed/random';
import { RecordInteractionsDocument } from '../test/generated/graphql';
import { BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, mib, percentile, processCpuSeconds, runBench } from './harness';

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `rapport gateway` as its own process on a free port; resolves with its GraphQL URL once ready. */
async function startGatewayProcess(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, '../src/main.ts'), 'gateway'], {
    env: { ...process.env, ...BENCH_ENV, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`gateway process exited with ${child.exitCode}`);
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url: `${base}/graphql`, child };
    if (attempt > 600) throw new Error('gateway process did not become ready in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CHANNELS = [
  ['email', 'open'],
  ['web', 'page_view'],
  ['payment', 'purchase'],
  ['support', 'ticket_opened'],
  ['phone', 'call'],
] as const;

async function main() {
  const scale = intFlags({ interactions: 200_000, customers: 20_000, batch: 1_000, concurrency: 2, seed: 1, gateways: 0 }, ['gateways']);
  const where = scale.gateways === 0 ? 'gateway in the bench process' : `${scale.gateways} gateway processes`;
  console.log(
    `bench/ingest: ${fmt(scale.interactions)} interactions for ${fmt(scale.customers)} customers, batches of ${fmt(scale.batch)}, ${scale.concurrency} concurrent requests, ${where}`,
  );
  const random = new Random(scale.seed);
  const start = Date.UTC(2025, 0, 1);
  const rows = Array.from({ length: scale.interactions }, (_, i) => {
    const [channel, type] = CHANNELS[random.int(0, CHANNELS.length - 1)];
    return {
      customer: random.int(1, scale.customers),
      channel,
      type,
      occurredAt: new Date(start + random.next() * 300 * 86_400_000).toISOString(),
      value: type === 'purchase' ? Math.round(random.logNormal(3.5, 0.8) * 100) / 100 : null,
      externalId: `bench-${i}`,
    };
  });

  const cluster = await benchCluster();
  try {
    // 1. Through the API.
    const url = await cluster.createDatabase('bench_api');
    const dataSource = await openDatabase(url, 'bench-gateway');
    const config = loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url, PORT: '0', ...BENCH_ENV });
    const runtime =
      scale.gateways === 0
        ? await startRapport({
            config,
            logger: createLogger('warn'),
            dataSource,
            queue: { kind: 'postgres', connectionString: url },
            roles: { gateway: true, worker: false },
          })
        : null;
    const gateways = await Promise.all(Array.from({ length: scale.gateways }, () => startGatewayProcess(url)));
    const targets = runtime ? [runtime.url!] : gateways.map((g) => g.url);
    const query = print(RecordInteractionsDocument);
    // Request bodies are built before the clock starts: a client's own JSON work is not the API's (by default
    // the client shares the gateway's event loop and would take its share of it).
    const bodies: string[] = [];
    for (let i = 0; i < rows.length; i += scale.batch) {
      const input = rows.slice(i, i + scale.batch).map((r) => ({
        customer: { identifiers: [{ type: 'email', value: `customer-${r.customer}@bench.example` }] },
        channel: r.channel,
        type: r.type,
        occurredAt: r.occurredAt,
        value: r.value,
        currency: r.value ? 'USD' : null,
        source: 'bench',
        externalId: r.externalId,
      }));
      bodies.push(JSON.stringify({ query, variables: { input, mode: 'PER_ROW' } }));
    }
    const latencies: number[] = [];
    let accepted = 0;
    let next = 0;
    let peakRss = process.memoryUsage().rss;
    const cpu0 = { pg: cluster.cpuSeconds(), own: processCpuSeconds() };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: scale.concurrency }, async () => {
        while (next < bodies.length) {
          const target = targets[next % targets.length]!;
          const body = bodies[next++]!;
          const started = performance.now();
          const response = await fetch(target, { method: 'POST', headers: BENCH_HEADERS, body });
          const result = (await response.json()) as { data?: { recordInteractions: { accepted: number } }; errors?: unknown };
          if (!result.data) throw new Error(`batch failed: ${JSON.stringify(result.errors)}`);
          accepted += result.data.recordInteractions.accepted;
          latencies.push(performance.now() - started);
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      }),
    );
    const apiSeconds = (performance.now() - t0) / 1000;
    const apiCpu = { pg: cluster.cpuSeconds() - cpu0.pg, own: processCpuSeconds() - cpu0.own };
    await runtime?.stop();
    await Promise.all(
      gateways.map(
        ({ child }) =>
          new Promise((resolve) => {
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      ),
    );
    const customerIds = new Map<string, string>(
      (await dataSource.query(`SELECT value, customer_id::text AS id FROM customer_identifiers WHERE type = 'email'`)).map(
        (r: { value: string; id: string }) => [r.value, r.id],
      ),
    );
    await dataSource.destroy();

    // 2. The floor: COPY the same rows (customers already resolved) into the same table.
    const floorUrl = await cluster.createDatabase('bench_copy');
    const floorSource = await openDatabase(floorUrl, 'bench-copy');
    await floorSource.destroy();
    const client = new Client({ connectionString: floorUrl });
    await client.connect();
    const ids = [...new Set(customerIds.values())];
    await client.query(`INSERT INTO customers (id, kind) OVERRIDING SYSTEM VALUE SELECT unnest($1::bigint[]), 'PERSON'`, [ids]);
    const pool = { query: client.query.bind(client) } as unknown as import('pg').PoolClient;
    const copyCpu0 = cluster.cpuSeconds();
    const t1 = performance.now();
    await copyRows(
      pool,
      'interactions',
      ['customer_id', 'channel', 'type', 'occurred_at', 'value', 'currency', 'source', 'external_id'],
      rows.map((r) => [
        customerIds.get(`customer-${r.customer}@bench.example`),
        r.channel,
        r.type,
        r.occurredAt,
        r.value,
        r.value ? 'USD' : null,
        'bench',
        r.externalId,
      ]),
    );
    const copySeconds = (performance.now() - t1) / 1000;
    const copyPgCpu = cluster.cpuSeconds() - copyCpu0;
    await client.end();

    latencies.sort((a, b) => a - b);
    const apiRate = accepted / apiSeconds;
    const copyRate = rows.length / copySeconds;
    console.log('');
    console.log(`  API   recordInteractions  ${fmt(accepted)} rows in ${fmt(apiSeconds, 2)} s  = ${fmt(apiRate)} interactions/s`);
    console.log(
      `        batch latency        p50 ${fmt(percentile(latencies, 50))} ms   p99 ${fmt(percentile(latencies, 99))} ms   (${latencies.length} batches)`,
    );
    console.log(`  floor COPY                ${fmt(rows.length)} rows in ${fmt(copySeconds, 2)} s  = ${fmt(copyRate)} interactions/s`);
    console.log(`  ratio API / COPY          ${fmt((apiRate / copyRate) * 100, 1)} %`);
    // CPU per row moves less than wall time when other work shares the machine.
    const perThousand = (seconds: number, n: number) => fmt((seconds * 1000 * 1000) / n, 1);
    console.log(
      `  CPU per 1,000 rows        API: Postgres ${perThousand(apiCpu.pg, accepted)} ms + ${runtime ? 'bench and gateway process' : 'bench process'} ${perThousand(apiCpu.own, accepted)} ms` +
        `${runtime ? '' : ' (gateway processes not counted)'};  COPY: Postgres ${perThousand(copyPgCpu, rows.length)} ms`,
    );
    console.log(`  peak RSS (${runtime ? 'bench + gateway process' : 'bench process, gateways not counted'}) ${mib(peakRss)}`);
  } finally {
    await cluster.close();
  }
}

runBench(main);

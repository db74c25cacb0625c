/**
 * bench/ingest: interactions through `recordInteractions` over real HTTP, in
 * batches, against the floor: COPY of the same rows into the same table in the
 * same run. Prints figures; never fails on time.
 *
 *   npm run bench:ingest -- --interactions 200000 --customers 20000 --batch 1000 --concurrency 2
 */
import { print } from 'graphql';
import { Client } from 'pg';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { copyRows } from '../src/seed/copy';
import { Random } from '../src/seed/random';
import { RecordInteractionsDocument } from '../test/generated/graphql';
import { BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, mib, percentile, runBench } from './harness';

const CHANNELS = [['email', 'open'], ['web', 'page_view'], ['payment', 'purchase'], ['support', 'ticket_opened'], ['phone', 'call']] as const;

async function main() {
  const scale = intFlags({ interactions: 200_000, customers: 20_000, batch: 1_000, concurrency: 2, seed: 1 });
  console.log(`bench/ingest: ${fmt(scale.interactions)} interactions for ${fmt(scale.customers)} customers, batches of ${fmt(scale.batch)}, ${scale.concurrency} concurrent requests`);
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
    const runtime = await startRapport({ config, logger: createLogger('warn'), dataSource, queue: { kind: 'postgres', connectionString: url }, roles: { gateway: true, worker: false } });
    const query = print(RecordInteractionsDocument);
    const batches: typeof rows[] = [];
    for (let i = 0; i < rows.length; i += scale.batch) batches.push(rows.slice(i, i + scale.batch));
    const latencies: number[] = [];
    let accepted = 0;
    let next = 0;
    let peakRss = process.memoryUsage().rss;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: scale.concurrency }, async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          const input = batch.map((r) => ({
            customer: { identifiers: [{ type: 'email', value: `customer-${r.customer}@bench.example` }] },
            channel: r.channel, type: r.type, occurredAt: r.occurredAt, value: r.value, currency: r.value ? 'USD' : null,
            source: 'bench', externalId: r.externalId,
          }));
          const started = performance.now();
          const response = await fetch(runtime.url!, { method: 'POST', headers: BENCH_HEADERS, body: JSON.stringify({ query, variables: { input, mode: 'PER_ROW' } }) });
          const body = (await response.json()) as { data?: { recordInteractions: { accepted: number } }; errors?: unknown };
          if (!body.data) throw new Error(`batch failed: ${JSON.stringify(body.errors)}`);
          accepted += body.data.recordInteractions.accepted;
          latencies.push(performance.now() - started);
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      }),
    );
    const apiSeconds = (performance.now() - t0) / 1000;
    await runtime.stop();
    const customerIds = new Map<string, string>(
      (await dataSource.query(`SELECT value, customer_id::text AS id FROM customer_identifiers WHERE type = 'email'`)).map((r: { value: string; id: string }) => [r.value, r.id]),
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
    const t1 = performance.now();
    await copyRows(
      pool, 'interactions',
      ['customer_id', 'channel', 'type', 'occurred_at', 'value', 'currency', 'source', 'external_id'],
      rows.map((r) => [customerIds.get(`customer-${r.customer}@bench.example`), r.channel, r.type, r.occurredAt, r.value, r.value ? 'USD' : null, 'bench', r.externalId]),
    );
    const copySeconds = (performance.now() - t1) / 1000;
    await client.end();

    latencies.sort((a, b) => a - b);
    const apiRate = accepted / apiSeconds;
    const copyRate = rows.length / copySeconds;
    console.log('');
    console.log(`  API   recordInteractions  ${fmt(accepted)} rows in ${fmt(apiSeconds, 2)} s  = ${fmt(apiRate)} interactions/s`);
    console.log(`        batch latency        p50 ${fmt(percentile(latencies, 50))} ms   p99 ${fmt(percentile(latencies, 99))} ms   (${latencies.length} batches)`);
    console.log(`  floor COPY                ${fmt(rows.length)} rows in ${fmt(copySeconds, 2)} s  = ${fmt(copyRate)} interactions/s`);
    console.log(`  ratio API / COPY          ${fmt((apiRate / copyRate) * 100, 1)} %`);
    console.log(`  peak RSS (bench + gateway process) ${mib(peakRss)}`);
  } finally {
    await cluster.close();
  }
}

runBench(main);

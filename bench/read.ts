/**
 * bench/read: the customer-360 page (50 customers with stats, identifiers and
 * their 5 latest interactions) under concurrent load over real HTTP. Prints
 * requests/s, latency percentiles, statements per request and memory; never
 * fails on time.
 *
 *   npm run bench:read -- --customers 20000 --interactions 400000 --connections 10 --seconds 15
 */
import autocannon from 'autocannon';
import { print } from 'graphql';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { seedDemoData } from '../src/seed/demo-data';
import { Customer360PageDocument } from '../test/generated/graphql';
import { BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, mib, runBench } from './harness';

async function main() {
  const scale = intFlags({ customers: 20_000, interactions: 400_000, connections: 10, seconds: 15, seed: 1 });
  console.log(
    `bench/read: ${fmt(scale.customers)} customers, ${fmt(scale.interactions)} interactions; ${scale.connections} connections for ${scale.seconds} s`,
  );
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_read');
    await (await openDatabase(url, 'bench-migrate')).destroy();
    const seeded = await seedDemoData(url, { customers: scale.customers, interactions: scale.interactions, seed: scale.seed });
    console.log(`  seeded in ${fmt(seeded.seconds, 1)} s`);

    let statements = 0;
    const dataSource = await openDatabase(url, 'bench-gateway', () => statements++);
    const config = loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url, PORT: '0', ...BENCH_ENV });
    const runtime = await startRapport({
      config,
      logger: createLogger('warn'),
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: true, worker: false },
    });
    const body = JSON.stringify({ query: print(Customer360PageDocument), variables: { first: 50 } });

    // Statements for one request, counted in the gateway.
    statements = 0;
    const probe = await fetch(runtime.url!, { method: 'POST', headers: BENCH_HEADERS, body });
    const probeBody = (await probe.json()) as { data?: { customers: { edges: unknown[] } } };
    if (!probeBody.data || probeBody.data.customers.edges.length !== 50) throw new Error(`unexpected response: ${JSON.stringify(probeBody).slice(0, 300)}`);
    const perRequest = statements;

    statements = 0;
    const result = await autocannon({
      url: runtime.url!,
      method: 'POST',
      headers: BENCH_HEADERS,
      body,
      connections: scale.connections,
      duration: scale.seconds,
    });
    const rss = process.memoryUsage().rss;
    await runtime.stop();
    await dataSource.destroy();

    console.log('');
    console.log(
      `  requests/s             ${fmt(result.requests.average)}   (${fmt(result.requests.total)} requests, ${result.non2xx} non-2xx, ${result.errors} errors)`,
    );
    console.log(`  latency                p50 ${fmt(result.latency.p50)} ms   p99 ${fmt(result.latency.p99)} ms   max ${fmt(result.latency.max)} ms`);
    console.log(`  statements per request ${perRequest}   (average under load: ${fmt(statements / Math.max(1, result.requests.total), 2)})`);
    console.log(`  gateway RSS after load ${mib(rss)}`);
  } finally {
    await cluster.close();
  }
}

runBench(main);

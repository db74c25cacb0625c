/**
 * bench/realtime: the delay from `recordInteractions` to the subscription
 * event of the segment entry it causes, while a steady ingest runs. Prints
 * figures; never fails on time.
 *
 *   npm run bench:realtime -- --customers 100000 --rate 5000 --probes 40
 *
 * A gateway and a worker run in the bench process on an embedded cluster.
 * `--customers` background customers are created in SQL; a background loop
 * records `--rate` interactions per second to them (batches of 100). A
 * subscriber (graphql-ws) follows a segment whose rule only probe customers
 * meet (`traits.probe` exists); every `--intervalMs` a probe records one
 * interaction for a new probe customer, and the time from sending the
 * mutation to the `ENTERED` event is measured: commit, customer refresh
 * (stats, scores, segments), outbox dispatch (`--dispatchMs`), fan-out and
 * delivery.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { BENCH_ADMIN_KEY, BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, percentile, runBench } from './harness';

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

async function main() {
  const scale = intFlags({ customers: 100_000, rate: 5_000, probes: 40, intervalMs: 250, dispatchMs: 1_000 }, ['rate']);
  console.log(
    `bench/realtime: ${fmt(scale.customers)} customers, background ingest ${fmt(scale.rate)} interactions/s, ${scale.probes} probes every ${scale.intervalMs} ms, outbox dispatch every ${scale.dispatchMs} ms`,
  );
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_realtime');
    const dataSource = await openDatabase(url, 'bench-realtime');
    await dataSource.query(`INSERT INTO customers (display_name, traits) SELECT 'Customer ' || n, '{}'::jsonb FROM generate_series(1, $1::int) AS n`, [
      scale.customers,
    ]);
    const ids: string[] = (await dataSource.query(`SELECT id::text AS id FROM customers ORDER BY id`)).map((r: { id: string }) => r.id);
    const config = loadConfig({
      LOG_LEVEL: 'warn',
      DATABASE_URL: url,
      PORT: '0',
      RAPPORT_OUTBOX_DISPATCH_MS: String(scale.dispatchMs),
      RAPPORT_REALTIME_EVENTS_PER_SECOND: '100000',
      ...BENCH_ENV,
    });
    const runtime = await startRapport({
      config,
      logger: createLogger('warn'),
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: true, worker: true },
    });
    const gql = async (query: string, variables?: unknown) => {
      const res = await fetch(runtime.url!, { method: 'POST', headers: BENCH_HEADERS, body: JSON.stringify({ query, variables }) });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of inline queries, read by path
      const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
      if (!body.data) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const client = createClient({
      url: runtime.url!.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${BENCH_ADMIN_KEY}` },
    });
    try {
      const segment = (
        await gql('mutation($i: SegmentInput!) { createSegment(input: $i) { id } }', {
          i: { name: 'probes', rule: { attribute: { field: 'traits.probe', op: 'EXISTS', value: true } } },
        })
      ).createSegment.id as string;

      const arrivals = new Map<string, number>();
      const subscribed = new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query: `subscription { segmentMembershipChanged(segmentId: "${segment}") { ... on SegmentMembershipEvent { kind customer { id } } } }` },
          {
            next: (result) => {
              const event = (result.data as { segmentMembershipChanged?: { kind: string; customer?: { id: string } } } | undefined)?.segmentMembershipChanged;
              if (event?.kind === 'ENTERED' && event.customer) arrivals.set(event.customer.id, performance.now());
            },
            error: reject,
            complete: () => undefined,
          },
        );
        setTimeout(resolve, 500);
      });
      await subscribed;

      let running = true;
      let sent = 0;
      let next = 0;
      const background = (async () => {
        if (scale.rate === 0) return;
        const started = performance.now();
        while (running) {
          const due = Math.floor(((performance.now() - started) / 1000) * scale.rate);
          if (sent >= due) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const batch = Array.from({ length: Math.min(100, due - sent) }, () => {
            const id = ids[next++ % ids.length]!;
            return {
              customer: { id: gid('Customer', id) },
              channel: 'web',
              type: 'page_view',
              occurredAt: new Date().toISOString(),
              source: 'bench',
              externalId: `bg-${next}`,
            };
          });
          sent += batch.length;
          await gql('mutation($i: [InteractionInput!]!) { recordInteractions(input: $i) { accepted } }', { i: batch });
        }
      })();

      const sentAt = new Map<string, number>();
      const benchStarted = performance.now();
      for (let p = 0; p < scale.probes; p++) {
        const started = performance.now();
        const data = await gql('mutation($i: [InteractionInput!]!) { recordInteractions(input: $i) { results { customerId } } }', {
          i: [
            {
              customer: { identifiers: [{ type: 'email', value: `probe-${p}@bench.example` }] },
              customerProfile: { displayName: `Probe ${p}`, traits: { probe: true } },
              channel: 'web',
              type: 'page_view',
              occurredAt: new Date().toISOString(),
              source: 'bench',
              externalId: `probe-${p}`,
            },
          ],
        });
        sentAt.set(data.recordInteractions.results[0].customerId, started);
        await new Promise((r) => setTimeout(r, scale.intervalMs));
      }
      const deadline = performance.now() + 30_000;
      while ([...sentAt.keys()].some((id) => !arrivals.has(id)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      running = false;
      await background;
      const elapsed = (performance.now() - benchStarted) / 1000;

      const delays = [...sentAt].flatMap(([id, at]) => (arrivals.has(id) ? [arrivals.get(id)! - at] : [])).sort((a, b) => a - b);
      console.log(`  background ingest achieved         ${fmt(sent / elapsed)} interactions/s (${fmt(sent)} in ${fmt(elapsed, 1)} s)`);
      console.log(`  segment entries received           ${delays.length} of ${sentAt.size} probes`);
      console.log(
        `  recordInteractions → event         p50 ${fmt(percentile(delays, 50))} ms  p95 ${fmt(percentile(delays, 95))} ms  max ${fmt(delays.at(-1) ?? NaN)} ms`,
      );
    } finally {
      await client.dispose();
      await runtime.stop();
      await dataSource.destroy();
    }
  } finally {
    await cluster.close();
  }
}

runBench(main);

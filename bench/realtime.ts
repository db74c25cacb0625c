/**
 * bench/realtime: the delay from `recordInteractions` to the subscription
 * event of the segment entry it causes, while a steady ingest runs. Prints
 * figures; never fails on time.
 *
 *   npm run bench:realtime -- --customers 100000 --rate 5000 --probes 40
 *
 * A gateway and a worker run in the bench process on an embedded cluster.
 * `--customers` background customers are created in SQL; `--senders`
 * concurrent loops record `--rate` interactions per second to them between
 * them (batches of `--batch`), and the rate achieved is printed. A
 * subscriber (graphql-ws) follows a segment whose rule only probe customers
 * meet (`traits.probe` exists); every `--intervalMs` a probe records one
 * interaction for a new probe customer, and the time from sending the
 * mutation to the `ENTERED` event is measured: commit, customer refresh
 * (stats, scores, segments), outbox dispatch (`--dispatchMs`), fan-out and
 * delivery. `--debounceMs` sets RAPPORT_REFRESH_DEBOUNCE_MS. `--hot N` sends the
 * background ingest to the first N customers only (0: all of them in turn), so
 * that each gets several changes a second, the case the debounce coalesces; the
 * customer refreshes done and the CPU they cost are printed for the comparison.
 * Each delay is then split into stages from the outbox's own
 * timestamps: to the start of the customer refresh that wrote the entry
 * (ingest, the gathering window, the queue), to its dispatch (the
 * dispatcher's wake-up or poll), and from there to the subscriber (fan-out).
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { BENCH_ADMIN_KEY, BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, percentile, processCpuSeconds, runBench } from './harness';

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

async function main() {
  const scale = intFlags(
    { customers: 100_000, rate: 5_000, senders: 4, batch: 100, probes: 40, intervalMs: 250, dispatchMs: 1_000, debounceMs: 1_000, hot: 0 },
    ['rate', 'debounceMs', 'hot'],
  );
  console.log(
    `bench/realtime: ${fmt(scale.customers)} customers, background ingest ${fmt(scale.rate)} interactions/s (${scale.senders} senders, batches of ${scale.batch}), ${scale.probes} probes every ${scale.intervalMs} ms, outbox dispatch every ${scale.dispatchMs} ms, refresh debounce ${scale.debounceMs} ms${scale.hot ? `, background to the first ${fmt(scale.hot)} customers only` : ''}`,
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
      RAPPORT_REFRESH_DEBOUNCE_MS: String(scale.debounceMs),
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
              if (event?.kind === 'ENTERED' && event.customer) arrivals.set(event.customer.id, Date.now());
            },
            error: reject,
            complete: () => undefined,
          },
        );
        setTimeout(resolve, 500);
      });
      await subscribed;

      // Customer refreshes so far: each writes its customer's stats row once (insert or update).
      const refreshesSoFar = async () =>
        Number(
          (await dataSource.query(`SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0)::bigint AS n FROM pg_stat_user_tables WHERE relname = 'customer_stats'`))[0]
            .n,
        );
      const refreshesBefore = await refreshesSoFar();
      const cpuBefore = { rapport: processCpuSeconds(), postgres: cluster.cpuSeconds() };
      const pool = scale.hot > 0 ? Math.min(scale.hot, ids.length) : ids.length;
      let running = true;
      let sent = 0;
      let next = 0;
      const ingestStarted = performance.now();
      // Senders share one schedule: each takes the next due batch, so the rate holds while requests overlap.
      const sender = async () => {
        if (scale.rate === 0) return;
        while (running) {
          const due = Math.floor(((performance.now() - ingestStarted) / 1000) * scale.rate);
          if (sent >= due) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const batch = Array.from({ length: Math.min(scale.batch, due - sent) }, () => {
            const id = ids[next++ % pool]!;
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
      };
      const background = Promise.all(Array.from({ length: scale.senders }, sender));

      const sentAt = new Map<string, number>();
      for (let p = 0; p < scale.probes; p++) {
        const started = Date.now();
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
      const elapsed = (performance.now() - ingestStarted) / 1000;
      // Backends report table statistics up to a second after their transactions: let the queue drain and the counts arrive.
      await new Promise((r) => setTimeout(r, 3_000));
      const refreshes = (await refreshesSoFar()) - refreshesBefore;
      const cpu = { rapport: processCpuSeconds() - cpuBefore.rapport, postgres: cluster.cpuSeconds() - cpuBefore.postgres };

      // Stages from the outbox: when the refresh that wrote each entry started, and when it was dispatched.
      const stages: { customer: string; written: Date; dispatched: Date | null }[] = await dataSource.query(
        `SELECT customer_id::text AS customer, occurred_at AS written, dispatched_at AS dispatched FROM outbox_events
          WHERE type = 'segment.entered' AND payload->>'segmentId' = $1`,
        [Buffer.from(segment, 'base64').toString().split(':')[1]],
      );
      const toRefresh: number[] = [];
      const toDispatch: number[] = [];
      const toSubscriber: number[] = [];
      for (const stage of stages) {
        const id = gid('Customer', stage.customer);
        const [sentMs, arrived] = [sentAt.get(id), arrivals.get(id)];
        if (sentMs === undefined || arrived === undefined || !stage.dispatched) continue;
        toRefresh.push(new Date(stage.written).getTime() - sentMs);
        toDispatch.push(new Date(stage.dispatched).getTime() - new Date(stage.written).getTime());
        toSubscriber.push(arrived - new Date(stage.dispatched).getTime());
      }
      const stageLine = (label: string, values: number[]) => {
        const sorted = values.sort((a, b) => a - b);
        console.log(`    ${label.padEnd(33)}p50 ${fmt(percentile(sorted, 50))} ms  p95 ${fmt(percentile(sorted, 95))} ms`);
      };

      const delays = [...sentAt].flatMap(([id, at]) => (arrivals.has(id) ? [arrivals.get(id)! - at] : [])).sort((a, b) => a - b);
      console.log(`  background ingest asked            ${fmt(scale.rate)} interactions/s`);
      console.log(`  background ingest achieved         ${fmt(sent / elapsed)} interactions/s (${fmt(sent)} in ${fmt(elapsed, 1)} s)`);
      console.log(
        `  customer refreshes                 ${fmt(refreshes)} (${fmt(refreshes / Math.max(1, sent), 2)} per interaction); CPU: bench process (gateway, worker, senders) ${fmt(cpu.rapport, 1)} s, Postgres ${fmt(cpu.postgres, 1)} s`,
      );
      console.log(`  segment entries received           ${delays.length} of ${sentAt.size} probes`);
      console.log(
        `  recordInteractions → event         p50 ${fmt(percentile(delays, 50))} ms  p95 ${fmt(percentile(delays, 95))} ms  max ${fmt(delays.at(-1) ?? NaN)} ms`,
      );
      console.log(`  floor: the gathering window         ${fmt(Math.min(200, scale.debounceMs))} ms before a first change's refresh is enqueued`);
      console.log('  where the time goes (outbox timestamps):');
      stageLine('sent → refresh started', toRefresh);
      stageLine('refresh started → dispatched', toDispatch);
      stageLine('dispatched → subscriber', toSubscriber);
      console.log(`  target                             p95 ≤ 2,000 ms at 100,000 customers and 5,000 interactions/s`);
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

/**
 * bench/webhooks-latency: the round trip of a signed webhook delivery over real
 * HTTP — the plugin verifies and parses it, the batch is committed — measured
 * one delivery at a time (and then with a few in flight), against a gateway
 * running in the bench process. Prints figures; never fails on time.
 *
 *   npm run bench:connector-webhooks -- --requests 500 --concurrency 4
 *
 * Each delivery carries a new event (one interaction stored per request), so
 * the figure includes the commit. A delivery with a wrong signature (verify
 * only, nothing stored) is measured too. The first delivery after start is
 * reported on its own: it pays for anything started lazily.
 */
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { print } from 'graphql';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { CreateConnectionDocument } from '../test/generated/graphql';
import { BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, percentile, runBench } from './harness';

const SIGNING_SECRET = 'whsec_bench_0123456789abcdef';
const MAPPING = { email: 'user.email', externalId: 'id', occurredAt: 'timestamp', type: 'event' };

/** The kit's signature header (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`), computed here so the bench depends on no Rapport internals. */
function sign(body: string, secret = SIGNING_SECRET): string {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return `  ${label.padEnd(34)} n=${String(sorted.length).padStart(5)}  p50 ${fmt(percentile(sorted, 50), 1).padStart(7)} ms  p95 ${fmt(percentile(sorted, 95), 1).padStart(7)} ms  p99 ${fmt(percentile(sorted, 99), 1).padStart(7)} ms  max ${fmt(sorted[sorted.length - 1]!, 1).padStart(7)} ms  mean ${fmt(mean, 1)} ms`;
}

async function main() {
  const scale = intFlags({ requests: 400, concurrency: 4, warmup: 20 });
  console.log(
    `bench/webhooks-latency: ${fmt(scale.requests)} signed deliveries one at a time, then ${fmt(scale.requests)} with ${scale.concurrency} in flight; gateway in the bench process`,
  );
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_webhooks');
    const dataSource = await openDatabase(url, 'bench-webhooks');
    const config = loadConfig({
      LOG_LEVEL: 'warn',
      DATABASE_URL: url,
      PORT: '0',
      RAPPORT_PLUGINS_DIR: path.join(__dirname, '../plugins'),
      RAPPORT_SECRET_KEY: randomBytes(32).toString('base64'),
      ...BENCH_ENV,
    });
    const startedAt = performance.now();
    const runtime = await startRapport({
      config,
      logger: createLogger('warn'),
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: true, worker: false },
    });
    console.log(`  gateway start (plugins loaded)    ${fmt(performance.now() - startedAt, 0)} ms`);
    const base = runtime.url!.replace(/\/graphql$/, '');
    try {
      const created = await fetch(runtime.url!, {
        method: 'POST',
        headers: BENCH_HEADERS,
        body: JSON.stringify({
          query: print(CreateConnectionDocument),
          variables: { input: { connector: 'webhook', name: 'bench', config: { signingSecret: SIGNING_SECRET, mapping: MAPPING } } },
        }),
      }).then((r) => r.json() as Promise<{ data?: { createConnection: { webhookPath: string } }; errors?: unknown }>);
      if (!created.data) throw new Error(`createConnection failed: ${JSON.stringify(created.errors)}`);
      const hook = `${base}${created.data.createConnection.webhookPath}`;

      let next = 0;
      const deliver = async (signature: 'good' | 'bad' = 'good'): Promise<{ ms: number; status: number }> => {
        const body = JSON.stringify({
          id: `evt_${next}`,
          event: 'signup',
          timestamp: new Date(Date.UTC(2025, 0, 1) + next * 1000).toISOString(),
          user: { email: `bench${next % 5000}@example.com` },
        });
        next++;
        const header = signature === 'good' ? sign(body) : sign(body, 'whsec_not_the_secret_0000');
        const t0 = performance.now();
        const response = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rapport-signature': header }, body });
        await response.arrayBuffer();
        return { ms: performance.now() - t0, status: response.status };
      };

      const first = await deliver();
      console.log(`  first delivery after start        ${fmt(first.ms, 1)} ms (status ${first.status})`);
      for (let i = 0; i < scale.warmup; i++) await deliver();

      const sequential: number[] = [];
      const statuses = new Map<number, number>();
      for (let i = 0; i < scale.requests; i++) {
        const { ms, status } = await deliver();
        sequential.push(ms);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }

      const refused: number[] = [];
      for (let i = 0; i < Math.min(scale.requests, 200); i++) {
        const { ms, status } = await deliver('bad');
        refused.push(ms);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }

      const concurrent: number[] = [];
      let remaining = scale.requests;
      const wallStart = performance.now();
      await Promise.all(
        Array.from({ length: scale.concurrency }, async () => {
          while (remaining-- > 0) {
            const { ms, status } = await deliver();
            concurrent.push(ms);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
      const wall = performance.now() - wallStart;

      console.log(summary('signed, one at a time', sequential));
      console.log(summary('wrong signature (401), one at a time', refused));
      console.log(summary(`signed, ${scale.concurrency} in flight`, concurrent));
      console.log(`  throughput with ${scale.concurrency} in flight          ${fmt((concurrent.length / wall) * 1000, 0)} deliveries/s`);
      console.log(`  statuses ${[...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}`);
    } finally {
      await runtime.stop();
      await dataSource.destroy();
    }
  } finally {
    await cluster.close();
  }
}

runBench(main);

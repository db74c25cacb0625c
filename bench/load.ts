/**
 * bench/load: a mixed workload against a gateway and a worker running as two
 * separate processes (as in production), on the PostgreSQL queue backend or
 * on Redis (`--queue redis`: REDIS_URL, or a redis-server started here):
 * customer-360 reads of random customers, small interaction writes (which
 * the worker then refreshes) and segment previews, from 50 and then 150
 * concurrent clients (`--clients`). Prints per kind the rate and p50/p99
 * beside the same kind's latency with a single client measured first in the
 * same run (the floor), the error counts, and the RSS of both processes
 * every few seconds with the growth over each phase, and the CPU time per
 * request of each process (gateway, worker, Postgres, and Redis when it was
 * started here), which says more than wall time on a shared machine. Never fails on time;
 * it exits 1 only when a request failed.
 *
 *   npm run bench:load                                                   # 20k customers, 30 s per phase
 *   npm run bench:load -- --customers 100000 --interactions 1000000 --seconds 60
 *   npm run bench:load -- --queue redis
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import { openDatabase } from '../src/app';
import { globalId } from '../src/graphql/ids';
import { seedDemoData } from '../src/seed/demo-data';
import { Random } from '../src/seed/random';
import { PreviewSegmentDocument, RecordInteractionsDocument } from '../test/generated/graphql';
import { BENCH_ENV, BENCH_HEADERS, benchCluster, benchRedis, fmt, intFlags, mib, percentile, pidCpuSeconds, runBench } from './harness';

/** The customer-360 page of one customer: profile, stats, identifiers, latest interactions, scores and segments. */
const CUSTOMER_360 = `query Customer360($id: ID!) {
  customer(id: $id) {
    id displayName kind lifecycleStage traits
    stats { interactionCount transactionCount transactionValue firstSeenAt lastSeenAt channels }
    identifiers { type value }
    interactions(first: 10) { edges { node { id channel type occurredAt value currency } } }
    scores { kind value label }
    segments { id name }
  }
}`;

type Kind = 'read' | 'write' | 'preview';
const KINDS: Kind[] = ['read', 'write', 'preview'];

/** Share of each kind in the mix, in percent. */
const MIX: Record<Kind, number> = { read: 75, write: 20, preview: 5 };

interface Sample {
  kind: Kind;
  ms: number;
  ok: boolean;
}

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

/** How long a process may take to answer /readyz with 200 (a loaded machine makes starting slow). */
const READY_WITHIN_MS = 120_000;

/** Starts `rapport <role>` as its own process; resolves once its /readyz (on the operators' port) answers 200. */
async function startProcess(
  role: 'gateway' | 'worker',
  databaseUrl: string,
  redis: { url: string; prefix: string } | undefined,
  started: ChildProcess[],
): Promise<{ child: ChildProcess; url: string; metricsUrl: string }> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  // The queue backend is the one asked for, whatever REDIS_URL the shell has.
  const { REDIS_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, '../src/main.ts'), role], {
    env: {
      ...inherited,
      ...BENCH_ENV,
      ...(redis ? { REDIS_URL: redis.url, RAPPORT_QUEUE_PREFIX: redis.prefix } : {}),
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RAPPORT_METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Stopped by the caller's cleanup even if it never becomes ready.
  started.push(child);
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const deadline = Date.now() + READY_WITHIN_MS;
  let last = 'no answer';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${role} process exited with ${child.exitCode}`);
    const ready = await fetch(`${metricsUrl}/readyz`).then(
      async (r) => {
        last = `${r.status} ${await r.text()}`;
        return r.ok;
      },
      (error: unknown) => {
        last = String(error);
        return false;
      },
    );
    if (ready) return { child, url: `http://127.0.0.1:${port}/graphql`, metricsUrl };
    if (Date.now() > deadline) throw new Error(`${role} process did not become ready in ${READY_WITHIN_MS / 1000} s; /readyz: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident set size of a process, from /proc (Linux). */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** The requests of each kind, built from a seeded generator so that runs are comparable. */
function requestMaker(customers: number, random: Random) {
  let written = 0;
  return (kind: Kind): string => {
    if (kind === 'read') {
      return JSON.stringify({ query: CUSTOMER_360, variables: { id: globalId('Customer', String(random.int(1, customers))) } });
    }
    if (kind === 'write') {
      const customer = { id: globalId('Customer', String(random.int(1, customers))) };
      const input = Array.from({ length: 5 }, () => ({
        customer,
        channel: 'web',
        type: 'page_view',
        occurredAt: new Date(Date.now() - random.int(0, 3_600_000)).toISOString(),
        source: 'bench-load',
        externalId: `load-${process.pid}-${written++}`,
        properties: { path: `/products/${random.int(1, 500)}` },
      }));
      return JSON.stringify({ query: print(RecordInteractionsDocument), variables: { input } });
    }
    const rule = {
      and: [
        { attribute: { field: 'transactionValue', op: 'GTE', value: 50 * random.int(1, 40) } },
        { behavior: { type: 'page_view', lastDays: 30, op: 'GTE', value: random.int(1, 3) } },
      ],
    };
    return JSON.stringify({ query: print(PreviewSegmentDocument), variables: { rule } });
  };
}

/** Picks a kind by the mix. */
function pickKind(random: Random): Kind {
  const roll = random.int(0, 99);
  return roll < MIX.read ? 'read' : roll < MIX.read + MIX.write ? 'write' : 'preview';
}

/** One request; an HTTP error, a GraphQL error or a rejected row counts as an error. */
async function send(url: string, body: string, kind: Kind): Promise<Sample> {
  const started = performance.now();
  const ok = await fetch(url, { method: 'POST', headers: BENCH_HEADERS, body }).then(
    async (response) => {
      const json = (await response.json()) as { data?: Record<string, { rejected?: number } | null>; errors?: unknown[] };
      return response.ok && !json.errors && Boolean(json.data) && (kind !== 'write' || json.data!.recordInteractions?.rejected === 0);
    },
    () => false,
  );
  return { kind, ms: performance.now() - started, ok };
}

/**
 * Runs `clients` closed-loop clients for `seconds`, each sending the next
 * request as soon as its last one is answered. `kinds` restricts the mix
 * (the single-client floor runs each kind alone).
 */
async function phase(url: string, clients: number, seconds: number, make: (kind: Kind) => string, random: Random, only?: Kind) {
  const samples: Sample[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const kind = only ?? pickKind(random);
        samples.push(await send(url, make(kind), kind));
      }
    }),
  );
  // Requests in flight at the deadline are waited for: rates are over the time the phase really took.
  return { samples, seconds: (performance.now() - started) / 1000 };
}

function summarize(samples: Sample[], seconds: number, kind: Kind) {
  const mine = samples.filter((s) => s.kind === kind);
  const sorted = mine.map((s) => s.ms).sort((a, b) => a - b);
  return {
    count: mine.length,
    rate: mine.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: mine.filter((s) => !s.ok).length,
  };
}

async function main() {
  const scale = intFlags({ customers: 20_000, interactions: 200_000, seconds: 30, sample: 5, seed: 1, floor: 5 }, [], ['clients', 'queue']);
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { clients: { type: 'string', default: '50,150' }, queue: { type: 'string', default: 'postgres' } },
    strict: false,
  });
  const queue = String(values.queue);
  if (queue !== 'postgres' && queue !== 'redis') throw new Error('--queue must be postgres or redis');
  const clientCounts = String(values.clients)
    .split(',')
    .map((c) => Number(c.trim()));
  if (clientCounts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--clients must be a comma-separated list of positive integers');
  console.log(
    `bench/load: ${fmt(scale.customers)} customers, ${fmt(scale.interactions)} interactions; ${clientCounts.join(' then ')} clients, ${scale.seconds} s each; ` +
      `mix ${KINDS.map((k) => `${MIX[k]}% ${k}`).join(', ')}; gateway and worker as separate processes, ` +
      `${queue === 'redis' ? `Redis queue backend (${process.env.REDIS_URL ? 'REDIS_URL' : 'a redis-server started here'})` : 'PostgreSQL queue backend'}`,
  );
  const cluster = await benchCluster();
  let redis: Awaited<ReturnType<typeof benchRedis>> | undefined;
  const children: ChildProcess[] = [];
  let failed = 0;
  try {
    const url = await cluster.createDatabase('bench_load');
    await (await openDatabase(url, 'bench-migrate')).destroy();
    const seeded = await seedDemoData(url, { customers: scale.customers, interactions: scale.interactions, seed: scale.seed });
    console.log(`  seeded in ${fmt(seeded.seconds, 1)} s`);
    if (queue === 'redis') redis = await benchRedis(`bench-load-${process.pid}`);
    const gateway = await startProcess('gateway', url, redis, children);
    const worker = await startProcess('worker', url, redis, children);
    const random = new Random(scale.seed);
    const make = requestMaker(scale.customers, random);

    // Warm-up (JIT, plans, pools), then each kind alone with one client: the floor the loaded figures are read against.
    await phase(gateway.url, 4, 3, make, random);
    const floor = new Map<Kind, ReturnType<typeof summarize>>();
    for (const kind of KINDS) {
      const run = await phase(gateway.url, 1, scale.floor, make, random, kind);
      floor.set(kind, summarize(run.samples, run.seconds, kind));
    }
    console.log('');
    console.log(`  floor (1 client, ${scale.floor} s per kind, same run)`);
    for (const kind of KINDS) {
      const f = floor.get(kind)!;
      console.log(
        `    ${kind.padEnd(8)} ${fmt(f.rate, 1).padStart(8)} req/s   p50 ${fmt(f.p50, 1).padStart(7)} ms   p99 ${fmt(f.p99, 1).padStart(7)} ms   errors ${f.errors}`,
      );
      failed += f.errors;
    }

    for (const clients of clientCounts) {
      const rss: { at: number; gateway: number; worker: number }[] = [];
      const started = performance.now();
      const sampleRss = () => rss.push({ at: (performance.now() - started) / 1000, gateway: rssOf(gateway.child.pid!), worker: rssOf(worker.child.pid!) });
      sampleRss();
      const cpu = () => ({
        gateway: pidCpuSeconds(gateway.child.pid!),
        worker: pidCpuSeconds(worker.child.pid!),
        postgres: cluster.cpuSeconds(),
        redis: redis?.pid ? pidCpuSeconds(redis.pid) : NaN,
      });
      const cpuBefore = cpu();
      const timer = setInterval(sampleRss, scale.sample * 1000);
      const { samples, seconds } = await phase(gateway.url, clients, scale.seconds, make, random);
      clearInterval(timer);
      sampleRss();
      const cpuAfter = cpu();
      console.log('');
      console.log(`  ${clients} clients, ${fmt(seconds, 1)} s: ${fmt(samples.length / seconds, 1)} req/s in all`);
      for (const kind of KINDS) {
        const s = summarize(samples, seconds, kind);
        const f = floor.get(kind)!;
        console.log(
          `    ${kind.padEnd(8)} ${fmt(s.rate, 1).padStart(8)} req/s   p50 ${fmt(s.p50, 1).padStart(7)} ms   p99 ${fmt(s.p99, 1).padStart(7)} ms   errors ${s.errors}` +
            `   (floor p50 ${fmt(f.p50, 1)} ms)`,
        );
        failed += s.errors;
      }
      console.log(`    RSS (s: gateway / worker)  ${rss.map((r) => `${fmt(r.at)}: ${mib(r.gateway)} / ${mib(r.worker)}`).join('   ')}`);
      // Flat memory: the last third of the phase against the middle third (the first third includes the ramp-up).
      const third = Math.max(1, Math.floor(rss.length / 3));
      const mean = (rows: typeof rss, key: 'gateway' | 'worker') => rows.reduce((sum, r) => sum + r[key], 0) / rows.length;
      const middle = rss.slice(third, 2 * third);
      const last = rss.slice(-third);
      console.log(
        `    RSS growth, last third vs middle third: gateway ${mib(mean(last, 'gateway') - mean(middle, 'gateway'))}, worker ${mib(mean(last, 'worker') - mean(middle, 'worker'))}`,
      );
      // The worker's and the servers' CPU includes what the phase's writes left for them to do while it ran.
      const perRequest = (key: keyof typeof cpuBefore) => `${fmt(((cpuAfter[key] - cpuBefore[key]) * 1000) / samples.length, 2)} ms`;
      console.log(
        `    CPU per request: gateway ${perRequest('gateway')}, worker ${perRequest('worker')}, Postgres ${perRequest('postgres')}` +
          (redis?.pid ? `, Redis ${perRequest('redis')}` : ''),
      );
    }

    const backlog = (await (await fetch(`${gateway.metricsUrl}/readyz`)).json()) as { dirtyBacklog: { count: number; oldestAgeSeconds: number } };
    console.log('');
    console.log(`  dirty backlog at the end: ${fmt(backlog.dirtyBacklog.count)} customers, oldest ${fmt(backlog.dirtyBacklog.oldestAgeSeconds, 1)} s`);
    console.log(`  errors in all: ${failed}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
    await redis?.close();
    await cluster.close();
  }
  if (failed > 0) throw new Error(`${failed} requests failed`);
}

runBench(main);

/**
 * bench/read: the pages frontend teams load most, served by Rapport and by
 * PostGraphile 5 (the peer) from the same database in the same run, rounds
 * alternated, both servers in their own process on the same Node 22.
 *
 * - Pages: the customer list (50 customers with stats, identifiers and their
 *   5 latest interactions) and a deeper one (50 customers → organisation →
 *   5 members → scores and segments).
 * - Rapport with the admin key and with a narrow key (no `pii:read`, so
 *   masking is on); the peer does no authentication or masking.
 * - Each run: requests/s, p50/p99, errors, and the server's and Postgres's CPU
 *   milliseconds per request (steadier than requests/s on a shared machine).
 * - Concurrency 1: each page's p50 beside the bare SQL statement producing the
 *   same data (the floor). Statements per request. A run at 50 connections
 *   with the gateway's RSS before and after. `--profile 1` adds a CPU profile
 *   of the gateway under load and prints its top frames.
 *
 * Never fails on time. Without the peer (no network to install it, or
 * `--peer 0`) it prints Rapport's figures alone, with a note.
 *
 *   npm run bench:read -- --customers 20000 --interactions 400000 --connections 10 --seconds 15 --rounds 2
 */
import autocannon from 'autocannon';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { print, type DocumentNode } from 'graphql';
import { Client } from 'pg';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { seedDemoData } from '../src/seed/demo-data';
import { Customer360PageDocument, CustomerOrganizationPageDocument } from '../test/generated/graphql';
import { BENCH_ADMIN_KEY, BENCH_ENV, BENCH_HEADERS, benchCluster, fmt, intFlags, mib, percentile, pidCpuSeconds, runBench } from './harness';
import { installPostGraphile, node22, startServer } from './peers';

const ROOT = path.join(__dirname, '..');

interface Page {
  name: string;
  rapport: DocumentNode;
  /** The same fields through PostGraphile's Amber schema. */
  peer: string;
  /** One statement returning the same data as JSON: the floor. */
  floor: string;
  /** Customers and nested rows in an answer, to check both sides serve the same data. */
  size(body: unknown, side: 'rapport' | 'peer'): string;
}

type Json = Record<string, unknown>;
const arr = (v: unknown) => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Json) : {});

const PAGES: Page[] = [
  {
    name: 'customer list',
    rapport: Customer360PageDocument,
    peer: `query ($first: Int) {
      allCustomers(first: $first, orderBy: PRIMARY_KEY_ASC) {
        nodes {
          id displayName
          customerStatByCustomerId { interactionCount transactionValue lastSeenAt }
          customerIdentifiersByCustomerId { nodes { type value } }
          interactionsByCustomerId(first: 5, orderBy: OCCURRED_AT_DESC) { nodes { id channel type occurredAt value } }
        }
      }
    }`,
    floor: `SELECT coalesce(json_agg(x), '[]') FROM (
      SELECT c.id, c.display_name,
        (SELECT row_to_json(s) FROM (SELECT interaction_count, transaction_value, last_seen_at FROM customer_stats WHERE customer_id = c.id) s) AS stats,
        (SELECT coalesce(json_agg(json_build_object('type', i.type, 'value', i.value)), '[]') FROM customer_identifiers i WHERE i.customer_id = c.id) AS identifiers,
        (SELECT coalesce(json_agg(t), '[]') FROM (SELECT id, channel, type, occurred_at, value FROM interactions
           WHERE customer_id = c.id ORDER BY occurred_at DESC, id DESC LIMIT 5) t) AS interactions
      FROM customers c WHERE c.deleted_at IS NULL ORDER BY c.id LIMIT $1) x`,
    size(body, side) {
      const nodes =
        side === 'rapport' ? arr(obj(obj(obj(body).data).customers).edges).map((e) => obj(e.node)) : arr(obj(obj(obj(body).data).allCustomers).nodes);
      const interactions = nodes.reduce(
        (n, c) => n + (side === 'rapport' ? arr(obj(c.interactions).edges).length : arr(obj(c.interactionsByCustomerId).nodes).length),
        0,
      );
      return `${nodes.length} customers, ${interactions} interactions`;
    },
  },
  {
    name: 'organisation page',
    rapport: CustomerOrganizationPageDocument,
    peer: `query ($first: Int) {
      allCustomers(first: $first, orderBy: PRIMARY_KEY_ASC) {
        nodes {
          id displayName
          customerByOrganizationId {
            id displayName
            customersByOrganizationId(first: 5, orderBy: [CREATED_AT_DESC, PRIMARY_KEY_DESC]) {
              nodes {
                id displayName
                scoresByCustomerId { nodes { kind value label } }
                segmentMembershipsByCustomerId { nodes { segmentBySegmentId { id name } } }
              }
            }
          }
        }
      }
    }`,
    floor: `SELECT coalesce(json_agg(x), '[]') FROM (
      SELECT c.id, c.display_name,
        (SELECT row_to_json(o) FROM (
          SELECT org.id, org.display_name,
            (SELECT coalesce(json_agg(m), '[]') FROM (
              SELECT mem.id, mem.display_name,
                (SELECT coalesce(json_agg(json_build_object('kind', s.kind, 'value', s.value, 'label', s.label)), '[]') FROM scores s WHERE s.customer_id = mem.id) AS scores,
                (SELECT coalesce(json_agg(json_build_object('id', g.id, 'name', g.name)), '[]')
                   FROM segment_memberships sm JOIN segments g ON g.id = sm.segment_id WHERE sm.customer_id = mem.id) AS segments
              FROM customers mem WHERE mem.organization_id = org.id AND mem.deleted_at IS NULL ORDER BY mem.created_at DESC, mem.id DESC LIMIT 5) m) AS members
          FROM customers org WHERE org.id = c.organization_id) o) AS organization
      FROM customers c WHERE c.deleted_at IS NULL ORDER BY c.id LIMIT $1) x`,
    size(body, side) {
      const nodes =
        side === 'rapport' ? arr(obj(obj(obj(body).data).customers).edges).map((e) => obj(e.node)) : arr(obj(obj(obj(body).data).allCustomers).nodes);
      let members = 0;
      let scores = 0;
      let segments = 0;
      for (const c of nodes) {
        const org = obj(side === 'rapport' ? c.organization : c.customerByOrganizationId);
        const list = side === 'rapport' ? arr(obj(org.members).edges).map((e) => obj(e.node)) : arr(obj(org.customersByOrganizationId).nodes);
        members += list.length;
        for (const m of list) {
          scores += side === 'rapport' ? arr(m.scores).length : arr(obj(m.scoresByCustomerId).nodes).length;
          segments += side === 'rapport' ? arr(m.segments).length : arr(obj(m.segmentMembershipsByCustomerId).nodes).length;
        }
      }
      return `${nodes.length} customers, ${members} members, ${scores} scores, ${segments} segment memberships`;
    },
  },
];

interface Run {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  serverCpuMs: number;
  pgCpuMs: number;
}

async function main() {
  const scale = intFlags({ customers: 20_000, interactions: 400_000, connections: 10, seconds: 15, rounds: 2, seed: 1, peer: 1, profile: 0, saturation: 50 }, [
    'peer',
    'profile',
  ]);
  console.log(
    `bench/read: ${fmt(scale.customers)} customers, ${fmt(scale.interactions)} interactions; ${scale.connections} connections × ${scale.seconds} s, ${scale.rounds} alternated rounds`,
  );
  const cluster = await benchCluster();
  const stops: (() => Promise<void>)[] = [];
  try {
    const url = await cluster.createDatabase('bench_read');
    await (await openDatabase(url, 'bench-migrate')).destroy();
    const seeded = await seedDemoData(url, { customers: scale.customers, interactions: scale.interactions, seed: scale.seed });
    console.log(`  seeded in ${fmt(seeded.seconds, 1)} s`);
    const narrowKey = await prepare(url);

    // Statements per request, counted in an in-process gateway.
    const statementCounts: number[] = [];
    {
      let statements = 0;
      const dataSource = await openDatabase(url, 'bench-count', () => statements++);
      const runtime = await startRapport({
        config: loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url, PORT: '0', ...BENCH_ENV }),
        logger: createLogger('warn'),
        dataSource,
        queue: { kind: 'postgres', connectionString: url },
        roles: { gateway: true, worker: false },
      });
      for (const page of PAGES) {
        statements = 0;
        const res = await fetch(runtime.url!, { method: 'POST', headers: BENCH_HEADERS, body: rapportBody(page) });
        statementCounts.push(statements);
        const body = (await res.json()) as Json;
        if (body.errors) throw new Error(`${page.name}: ${JSON.stringify(body.errors).slice(0, 300)}`);
      }
      await runtime.stop();
      await dataSource.destroy();
    }

    const node = node22();
    const nodeVersion = (await import('node:child_process')).execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const startGateway = (extraArgs: string[] = []) =>
      startServer(
        node,
        [...extraArgs, path.join(ROOT, 'bin/rapport.js'), 'gateway'],
        { LOG_LEVEL: 'warn', DATABASE_URL: url, PORT: '0', ...BENCH_ENV },
        /GraphiQL: http:\/\/localhost:(\d+)\/graphql/,
        ROOT,
      );
    const gateway = await startGateway();
    stops.push(gateway.stop);
    const rapportUrl = `http://127.0.0.1:${gateway.port}/graphql`;

    let peer: Awaited<ReturnType<typeof startServer>> | undefined;
    let peerNote = '';
    if (!scale.peer) peerNote = 'peer skipped (--peer 0)';
    else if (!installPostGraphile()) peerNote = 'peer not installed (npm could not reach the registry)';
    else {
      // Scores carry no foreign key (they are rebuilt in bulk); a smart tag gives the peer the same relation Rapport serves.
      const admin = new Client({ connectionString: url });
      await admin.connect();
      await admin.query(`COMMENT ON TABLE scores IS E'@foreignKey (customer_id) references customers (id)'`);
      await admin.end();
      peer = await startServer(node, ['server.mjs'], { DATABASE_URL: url, PORT: '0' }, /listening (\d+)/, path.join(__dirname, 'peers/postgraphile'));
      stops.push(peer.stop);
    }
    const peerUrl = peer ? `http://127.0.0.1:${peer.port}/graphql` : undefined;
    console.log(
      `  servers on ${nodeVersion}: Rapport gateway pid ${gateway.child.pid}${peer ? `, PostGraphile 5.1.5 pid ${peer.child.pid}` : ` (${peerNote})`}`,
    );

    // Both sides answer the same data.
    for (const page of PAGES) {
      const mine = await post(rapportUrl, rapportBody(page), BENCH_ADMIN_KEY);
      const line = [`rapport ${page.size(mine, 'rapport')}`];
      if (peerUrl) {
        const theirs = await post(peerUrl, JSON.stringify({ query: page.peer, variables: { first: 50 } }));
        if (obj(theirs).errors) throw new Error(`peer ${page.name}: ${JSON.stringify(obj(theirs).errors).slice(0, 400)}`);
        line.push(`peer ${page.size(theirs, 'peer')}`);
      }
      console.log(`  ${page.name}: ${line.join('; ')}`);
    }

    const load = async (target: string, body: string, headers: Record<string, string>, pid: number, connections = scale.connections): Promise<Run> => {
      const cpu0 = pidCpuSeconds(pid);
      const pg0 = cluster.cpuSeconds();
      const result = await autocannon({ url: target, method: 'POST', headers, body, connections, duration: scale.seconds });
      const requests = Math.max(1, result.requests.total);
      return {
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        failures: result.non2xx + result.errors + result.timeouts,
        serverCpuMs: ((pidCpuSeconds(pid) - cpu0) * 1000) / requests,
        pgCpuMs: ((cluster.cpuSeconds() - pg0) * 1000) / requests,
      };
    };

    const runs = new Map<string, Run[]>();
    const record = (key: string, run: Run) => runs.set(key, [...(runs.get(key) ?? []), run]);
    const narrowHeaders = { 'content-type': 'application/json', authorization: `Bearer ${narrowKey}` };
    for (let round = 1; round <= scale.rounds; round++) {
      for (const page of PAGES) {
        const sides: [string, () => Promise<Run>][] = [
          ['rapport admin', () => load(rapportUrl, rapportBody(page), BENCH_HEADERS, gateway.child.pid!)],
          ['rapport narrow', () => load(rapportUrl, rapportBody(page), narrowHeaders, gateway.child.pid!)],
        ];
        if (peerUrl && peer) {
          const peerBody = JSON.stringify({ query: page.peer, variables: { first: 50 } });
          sides.push(['postgraphile', () => load(peerUrl, peerBody, { 'content-type': 'application/json' }, peer.child.pid!)]);
        }
        // Alternate which side goes first, so neither always runs on a warmer cache.
        if (round % 2 === 0) sides.reverse();
        for (const [side, run] of sides) record(`${page.name}|${side}`, await run());
      }
    }

    console.log('');
    console.log(`  ${scale.connections} connections, ${scale.seconds} s a run (each round's figure; ratio = Rapport req/s ÷ PostGraphile req/s)`);
    console.log('  page                side             round  req/s   p50 ms  p99 ms  fails  server CPU ms/req  Postgres CPU ms/req  ratio');
    for (const page of PAGES) {
      const peerRuns = runs.get(`${page.name}|postgraphile`) ?? [];
      for (const side of ['rapport admin', 'rapport narrow', 'postgraphile']) {
        (runs.get(`${page.name}|${side}`) ?? []).forEach((r, i) => {
          const ratio = side !== 'postgraphile' && peerRuns[i] ? `${fmt(r.rps / peerRuns[i].rps, 2)}×` : '';
          console.log(
            `  ${page.name.padEnd(19)} ${side.padEnd(16)} ${String(i + 1).padStart(5)}  ${fmt(r.rps).padStart(5)}  ${fmt(r.p50).padStart(6)}  ${fmt(r.p99).padStart(6)}  ${String(r.failures).padStart(5)}  ${fmt(r.serverCpuMs, 2).padStart(17)}  ${fmt(r.pgCpuMs, 2).padStart(19)}  ${ratio}`,
          );
        });
      }
    }
    if (!peer) console.log(`  (no peer figures: ${peerNote})`);

    // Concurrency 1 beside the floor: the bare SQL statement for the same data.
    console.log('');
    console.log('  one request at a time (p50 of 40, after 10 warm-up)   statements/request');
    const client = new Client({ connectionString: url });
    await client.connect();
    for (const [index, page] of PAGES.entries()) {
      const sequential = async (once: () => Promise<unknown>) => {
        for (let i = 0; i < 10; i++) await once();
        const times: number[] = [];
        for (let i = 0; i < 40; i++) {
          const t0 = performance.now();
          await once();
          times.push(performance.now() - t0);
        }
        return percentile(
          times.sort((a, b) => a - b),
          50,
        );
      };
      const floor = await sequential(() => client.query(page.floor, [50]));
      const mine = await sequential(() => post(rapportUrl, rapportBody(page), BENCH_ADMIN_KEY));
      const theirs = peerUrl ? await sequential(() => post(peerUrl, JSON.stringify({ query: page.peer, variables: { first: 50 } }))) : NaN;
      console.log(
        `  ${page.name.padEnd(19)} Rapport ${fmt(mine, 1)} ms  ${peerUrl ? `PostGraphile ${fmt(theirs, 1)} ms  ` : ''}floor (SQL) ${fmt(floor, 1)} ms  → Rapport ${fmt(mine / floor, 1)}× the floor   ${statementCounts[index]}`,
      );
    }
    await client.end();

    // Saturation: many more clients than cores; no errors, memory flat.
    const rssBefore = rssOf(gateway.child.pid!);
    const saturated = await load(rapportUrl, rapportBody(PAGES[0]!), BENCH_HEADERS, gateway.child.pid!, scale.saturation);
    const rssAfter = rssOf(gateway.child.pid!);
    console.log('');
    console.log(
      `  saturation: ${scale.saturation} connections × ${scale.seconds} s on the customer list: ${fmt(saturated.rps)} req/s, p50 ${fmt(saturated.p50)} ms, p99 ${fmt(saturated.p99)} ms, ${saturated.failures} failures; gateway RSS ${mib(rssBefore)} before, ${mib(rssAfter)} after`,
    );

    if (scale.profile) await profileGateway(startGateway, rapportBody(PAGES[0]!), scale.connections, scale.seconds);
  } finally {
    for (const stop of stops.reverse()) await stop();
    await cluster.close();
  }
}

function rapportBody(page: Page): string {
  return JSON.stringify({ query: print(page.rapport), variables: { first: 50 } });
}

async function post(url: string, body: string, bearer?: string): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(url, { method: 'POST', headers, body });
  return res.json();
}

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

/**
 * What the deeper page reads exists: scores computed for every customer, and
 * a few segments refreshed. Returns a narrow key: reads without `pii:read`.
 */
async function prepare(url: string): Promise<string> {
  const dataSource = await openDatabase(url, 'bench-prepare');
  const runtime = await startRapport({
    config: loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url, PORT: '0', ...BENCH_ENV }),
    logger: createLogger('warn'),
    dataSource,
    queue: { kind: 'postgres', connectionString: url },
    roles: { gateway: true, worker: true },
  });
  try {
    const gql = async (query: string, variables?: Json) => {
      const body = obj(await post(runtime.url!, JSON.stringify({ query, variables }), BENCH_ADMIN_KEY));
      if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 300));
      return obj(body.data);
    };
    const job = obj((await gql('mutation { recomputeScores { id } }')).recomputeScores);
    for (;;) {
      const status = obj((await gql('query ($id: ID!) { recomputeJob(id: $id) { status error } }', { id: job.id })).recomputeJob);
      if (status.status === 'COMPLETED') break;
      if (status.status === 'FAILED') throw new Error(`recompute failed: ${String(status.error)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const templates = arr((await gql('{ segmentTemplates { key } }')).segmentTemplates).slice(0, 4);
    for (const t of templates) await gql('mutation ($key: String!) { createSegmentFromTemplate(key: $key) { id } }', { key: t.key });
    for (;;) {
      const segments = arr(obj((await gql('{ segments(first: 50) { edges { node { status } } } }')).segments).edges);
      if (segments.every((e) => obj(e.node).status === 'FRESH')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const key = obj(
      (await gql('mutation { createApiKey(name: "bench-read-narrow", scopes: ["customers:read", "scores:read", "segments:read"]) { key } }')).createApiKey,
    ).key;
    return String(key);
  } finally {
    await runtime.stop();
    await dataSource.destroy();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** A CPU profile of the gateway (its own process, `--cpu-prof`) under load: the top frames by self time, and time by package. */
async function profileGateway(
  startGateway: (args: string[]) => ReturnType<typeof startServer>,
  body: string,
  connections: number,
  seconds: number,
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-profile-'));
  const gateway = await startGateway(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const target = `http://127.0.0.1:${gateway.port}/graphql`;
  await autocannon({ url: target, method: 'POST', headers: BENCH_HEADERS, body, connections, duration: 3 });
  const loadStarted = performance.now();
  await autocannon({ url: target, method: 'POST', headers: BENCH_HEADERS, body, connections, duration: seconds });
  const loadEnded = performance.now();
  await gateway.stop();
  const stopped = performance.now();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    console.log('  (no CPU profile written)');
    return;
  }
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  rmSync(dir, { recursive: true, force: true });
  // Only the samples taken under the measured load: the profile ends when the process exits, so the
  // window is counted back from its end by the times this side saw (start-up and shutdown left out).
  const windowEnd = profile.endTime - (stopped - loadEnded) * 1000;
  const windowStart = windowEnd - (loadEnded - loadStarted) * 1000;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frames = new Map<string, number>();
  const packages = new Map<string, number>();
  let at = profile.startTime;
  let total = 0;
  for (const [index, id] of profile.samples.entries()) {
    at += profile.timeDeltas[index] ?? 0;
    if (at < windowStart || at > windowEnd) continue;
    total++;
    const frame = byId.get(id)!.callFrame;
    const where = frame.url.replace(/^file:\/\//, '').replace(ROOT + '/', '');
    const name = `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
    frames.set(name, (frames.get(name) ?? 0) + 1);
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ?? (where.startsWith('src/') ? 'rapport src/' : where ? 'node internals' : frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + 1);
  }
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log('');
  console.log(`  CPU profile of the gateway, customer list, admin key (${fmt(total)} samples): by package`);
  for (const [pkg, count] of top(packages, 12)) console.log(`    ${fmt((100 * count) / total, 1).padStart(5)}%  ${pkg}`);
  console.log('  top frames by self time');
  for (const [name, count] of top(frames, 20)) console.log(`    ${fmt((100 * count) / total, 1).padStart(5)}%  ${name}`);
}

runBench(main);

/**
 * The harness of the fault drills: Rapport's real processes (bin/rapport.js
 * gateway / worker, as a supervisor runs them), a redis-server of the drill's
 * own (so stopping it disturbs no other test file), a deterministic stream
 * of interactions, and the check that nothing was lost or duplicated and
 * that every customer's stats are exact.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { findFreePort } from '../../src/infra/net';

const ROOT = path.join(__dirname, '..', '..');
export const ADMIN_KEY = 'fault-drill-admin-key';

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` with the last error. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A Rapport process started through bin/rapport.js. */
export class RapportProcess {
  private text = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly command: string,
    readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => void (this.text += chunk.toString());
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Everything it printed so far. */
  get output(): string {
    return this.text;
  }

  /** Resolves with the first match of `pattern` in its output; fails if it exits first. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    let gone = false;
    void this.exited.then(() => (gone = true));
    return until(
      `${this.command}: ${pattern}`,
      () => {
        const match = pattern.exec(this.text);
        if (match) return match;
        if (gone) throw new Error(`${this.command} exited:\n${this.text.slice(-4_000)}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Sends `signal` and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Starts `rapport <command>` with `env` on top of the test's environment. */
export function rapport(command: 'gateway' | 'worker' | 'start', env: Record<string, string>): RapportProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/rapport.js'), command], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', RAPPORT_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new RapportProcess(command, child);
}

/** How long a process may take to start: a cold TypeScript compile on a busy two-core machine is slow. */
const START_TIMEOUT_MS = 150_000;

/** Waits for `ready` in a new process's output; a process that does not get there is killed, not left behind. */
async function started(process: RapportProcess, ready: RegExp): Promise<RegExpExecArray> {
  try {
    return await process.waitFor(ready, START_TIMEOUT_MS);
  } catch (error) {
    await process.stop('SIGKILL');
    throw error;
  }
}

/** A gateway process and its GraphQL URL. */
export async function startGateway(env: Record<string, string>): Promise<{ process: RapportProcess; url: string }> {
  const gateway = rapport('gateway', env);
  const match = await started(gateway, /GraphiQL: (http:\/\/localhost:\d+\/graphql)/);
  return { process: gateway, url: match[1]! };
}

export async function startWorker(env: Record<string, string>): Promise<RapportProcess> {
  const worker = rapport('worker', env);
  await started(worker, /workers started/);
  return worker;
}

/** A redis-server of the drill's own, on a fixed port so that it can be restarted where its clients look for it. */
export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'rapport-fault-redis-'));

  private constructor(
    readonly port: number,
    /** Append-only file (fsync always): a restart keeps every write; without it a restart comes back empty. */
    readonly aof: boolean,
  ) {}

  static async start(aof: boolean): Promise<RedisServer> {
    const server = new RedisServer(await findFreePort(), aof);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', this.dir, '--maxmemory-policy', 'noeviction'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    let exited = false;
    child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('exit', () => (exited = true));
    await until('redis-server ready', () => {
      if (exited) throw new Error(`redis-server exited: ${output}`);
      return output.includes('Ready to accept connections') ? true : undefined;
    });
  }

  /** Stops it: SIGTERM (an AOF server syncs its file) or SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An embedded Postgres cluster of the drill's own (run by pg-control.ts, outside Jest), to stop and start again on its port. */
export class PostgresCluster {
  private output = '';
  private answers = 0;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dataDir: string,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => void (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => void (this.output += chunk.toString()));
  }

  adminUrl = '';

  static async start(): Promise<PostgresCluster> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-fault-pg-'));
    // The cluster may run as the `postgres` system user (when we are root): let it reach its directory.
    chmodSync(dataDir, 0o755);
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'pg-control.ts'), dataDir], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const cluster = new PostgresCluster(child, dataDir);
    cluster.adminUrl = String((await cluster.nextAnswer()).adminUrl);
    return cluster;
  }

  /** The connection string of `database` on this cluster. */
  urlFor(database: string): string {
    return this.adminUrl.replace(/\/postgres$/, `/${database}`);
  }

  async stop(): Promise<void> {
    await this.command('stop');
  }

  async start(): Promise<void> {
    await this.command('start');
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.stdin!.end('exit\n');
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async command(line: string): Promise<Record<string, unknown>> {
    this.child.stdin!.write(line + '\n');
    return this.nextAnswer();
  }

  private async nextAnswer(): Promise<Record<string, unknown>> {
    const index = this.answers++;
    const answer = await until(
      'the cluster controller answers',
      () => {
        const lines = this.output.split('\n').filter((l) => l.startsWith('{'));
        if (this.child.exitCode !== null && lines.length <= index) throw new Error(`pg-control exited: ${this.output}`);
        return lines[index] ? (JSON.parse(lines[index]) as Record<string, unknown>) : undefined;
      },
      120_000,
    );
    if (!answer.ok) throw new Error(`pg-control: ${String(answer.error)}`);
    return answer;
  }
}

/** An HTTP answer as the drills look at it. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** Posts a GraphQL operation as the admin (through `agent`, for keep-alive clients). */
export function gql(url: string, query: string, variables?: unknown, agent?: Agent): Promise<Answer> {
  const payload = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${ADMIN_KEY}` },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Answer['body'] });
          } catch {
            reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 300)}`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export const RECORD = `mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { accepted duplicates rejected } }`;

/** The customers the drill's interactions spread over. */
export const DRILL_CUSTOMERS = 60;

/** Interaction `i` of the drill: customer i mod DRILL_CUSTOMERS, value 1–5, a unique external id. */
export function interaction(i: number) {
  return {
    customer: { identifiers: [{ type: 'email', value: `c${i % DRILL_CUSTOMERS}@drill.example` }] },
    channel: 'payment',
    type: 'purchase',
    occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    value: (i % 5) + 1,
    source: 'drill',
    externalId: `d-${i}`,
  };
}

/** The interactions of batches of `size` starting at each of `starts`. */
export function batchIndices(starts: readonly number[], size: number): number[] {
  return starts.flatMap((from) => Array.from({ length: size }, (_, k) => from + k));
}

/** Interactions [from, to). */
export function batch(from: number, to: number) {
  return Array.from({ length: to - from }, (_, k) => interaction(from + k));
}

/** An answer that says "retry": the SERVICE_UNAVAILABLE of an outage, with Retry-After. */
export function isRetryLater(answer: Answer): boolean {
  return answer.status === 503 && answer.headers['retry-after'] !== undefined && answer.body.errors?.[0]?.extensions?.code === 'SERVICE_UNAVAILABLE';
}

/**
 * Sends interactions [from, to) in one batch until the gateway has them (a
 * client that retries as the API tells it to), and returns every answer it
 * got on the way. Fails on an answer that is neither success nor "retry
 * later" (a 500 among them).
 */
export async function deliver(url: string, from: number, to: number, timeoutMs = 60_000): Promise<Answer[]> {
  const answers: Answer[] = [];
  await until(
    `interactions ${from}-${to} delivered`,
    async () => {
      let answer: Answer;
      try {
        answer = await gql(url, RECORD, { input: batch(from, to) });
      } catch (error) {
        // The gateway itself is away (connection refused): retry.
        if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') return undefined;
        throw error;
      }
      answers.push(answer);
      if (isRetryLater(answer)) return undefined;
      const result = answer.body.data?.recordInteractions as { accepted: number; duplicates: number; rejected: number } | undefined;
      if (answer.status !== 200 || !result) throw new UnexpectedAnswer(answer);
      if (result.rejected !== 0 || result.accepted + result.duplicates !== to - from) throw new UnexpectedAnswer(answer);
      return true;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    const unexpected = answers.find((a) => a.status !== 200 && !isRetryLater(a));
    throw unexpected ? new UnexpectedAnswer(unexpected) : error;
  });
  return answers;
}

class UnexpectedAnswer extends Error {
  constructor(answer: Answer) {
    super(`unexpected answer ${answer.status} ${JSON.stringify(answer.headers)}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
}

/** Interactions [0, n), or exactly these ones. */
type Delivered = number | readonly number[];

function indices(delivered: Delivered): readonly number[] {
  return typeof delivered === 'number' ? Array.from({ length: delivered }, (_, i) => i) : delivered;
}

/** What the database holds of the drill, against what the `delivered` interactions make. */
export async function drillState(databaseUrl: string, delivered: Delivered) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const [stored] = (
      await client.query<{ n: number; distinct_ids: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS distinct_ids FROM interactions WHERE source = 'drill'`,
      )
    ).rows;
    const [dirty] = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM customers WHERE dirty_since IS NOT NULL`)).rows;
    const stats = (
      await client.query<{ email: string; interaction_count: number | null; transaction_value: string | null }>(
        `SELECT ci.value AS email, s.interaction_count, s.transaction_value::text
           FROM customer_identifiers ci LEFT JOIN customer_stats s ON s.customer_id = ci.customer_id
          WHERE ci.type = 'email' AND ci.value LIKE '%@drill.example'`,
      )
    ).rows;
    const expected = new Map<string, { count: number; value: number }>();
    for (const i of indices(delivered)) {
      const { value } = interaction(i);
      const email = interaction(i).customer.identifiers[0]!.value;
      const e = expected.get(email) ?? { count: 0, value: 0 };
      expected.set(email, { count: e.count + 1, value: e.value + value });
    }
    const wrongStats = stats.filter((s) => {
      const e = expected.get(s.email);
      return !e || s.interaction_count !== e.count || Number(s.transaction_value) !== e.value;
    });
    return {
      stored: stored!.n,
      distinct: stored!.distinct_ids,
      customers: stats.length,
      expectedCustomers: expected.size,
      dirty: dirty!.n,
      wrongStats: wrongStats.length,
    };
  } finally {
    await client.end();
  }
}

/** Waits until the database holds the `delivered` interactions exactly once each (and no other) and every customer's stats are exact. */
export async function expectExact(databaseUrl: string, delivered: Delivered, timeoutMs = 60_000): Promise<void> {
  let last: Awaited<ReturnType<typeof drillState>> | undefined;
  const all = indices(delivered);
  const customers = new Set(all.map((i) => i % DRILL_CUSTOMERS)).size;
  const exact = { stored: all.length, distinct: all.length, customers, expectedCustomers: customers, dirty: 0, wrongStats: 0 };
  await until(
    'every interaction stored once and every customer’s stats exact',
    async () => {
      last = await drillState(databaseUrl, delivered);
      return JSON.stringify(last) === JSON.stringify(exact) ? true : undefined;
    },
    timeoutMs,
  ).catch(() => undefined);
  expect(last).toEqual(exact);
}

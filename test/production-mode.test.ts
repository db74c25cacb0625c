import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { serverAudits } from 'graphql-http';
import { createTestDatabase, testRedisUrl, type TestDatabase } from './helpers/database';
import { eventually } from './helpers/app';
import type { UntypedData } from './helpers/personal-data';

const root = path.join(__dirname, '..');
const ADMIN_KEY = 'production-mode-test-admin-key';

/** Runs a `rapport` command as its own process and resolves once `ready` matches its output. */
function run(command: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/rapport.js'), command], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}

function terminate(child: ChildProcess): Promise<number | null> {
  child.removeAllListeners('exit');
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function post(url: string, query: string, variables?: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: UntypedData; errors?: unknown[] };
}

describe('production mode: separate gateway and worker processes on external Postgres and Redis', () => {
  let database: TestDatabase;
  let gateway: ChildProcess;
  let worker: ChildProcess;
  let url: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      RAPPORT_QUEUE_PREFIX: database.name,
      PORT: '0',
      RAPPORT_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    };
    // The gateway migrates on start; the worker waits for it so both don't race on a fresh database.
    const g = await run('gateway', env, /GraphiQL: (http:\/\/localhost:\d+\/graphql)/);
    gateway = g.child;
    url = g.match[1];
    worker = (await run('worker', env, /workers started/)).child;
  });

  afterAll(async () => {
    const codes = await Promise.all([gateway && terminate(gateway), worker && terminate(worker)]);
    await database.drop();
    expect(codes).toEqual([0, 0]);
  });

  test('an interaction sent to the gateway is refreshed by the worker process', async () => {
    const recorded = await post(url, `mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { accepted } }`, {
      input: [
        {
          customer: { identifiers: [{ type: 'email', value: 'prod@example.com' }] },
          channel: 'payment',
          type: 'purchase',
          occurredAt: '2026-11-01T10:00:00Z',
          value: 99,
          source: 'prod-test',
          externalId: 'p-1',
        },
      ],
    });
    expect(recorded.data!.recordInteractions.accepted).toBe(1);
    const stats = await eventually(async () => {
      const { data } = await post(url, `{ customer(identifier: { type: "email", value: "prod@example.com" }) { stats { transactionValue updatedAt } } }`);
      return data?.customer.stats.updatedAt ? data.customer.stats : undefined;
    });
    expect(stats.transactionValue).toBe(99);
  });

  test('the gateway passes the GraphQL-over-HTTP audits that apply (graphql-http)', async () => {
    const failures: string[] = [];
    for (const audit of serverAudits({
      url,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) =>
        fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), authorization: `Bearer ${ADMIN_KEY}` } }),
    })) {
      const result = await audit.fn();
      if (result.status === 'error') failures.push(`${audit.name}: ${result.reason}`);
    }
    expect(failures).toEqual([]);
  });
});

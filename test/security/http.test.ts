import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '@rapport/connector-kit';
import { ConfigurationError, loadConfig } from '../../src/config';
import { createGatewayServer, createHttpHandler, type HttpHandler } from '../../src/graphql/server';
import { createLogger } from '../../src/infra/logger';
import { createWebhookRoute } from '../../src/modules/connectors/webhook.route';
import { REPO_ROOT, startConnectorTestApp, type ConnectorTestApp } from '../helpers/connectors';

const SECRET = 'whsec_security_http_000001';
const MIB = 1024 * 1024;
const CORS_ORIGIN = 'https://app.example.com';
const PACKAGES = [
  path.join(REPO_ROOT, 'plugins/webhook'),
  path.join(REPO_ROOT, 'plugins/helpdesk'),
  path.join(REPO_ROOT, 'test/fixtures/security-plugins/throwing-verify'),
].join(',');

let t: ConnectorTestApp;
/** Lines the webhook route logged (its handler is `hooks`). */
const logLines: Record<string, unknown>[] = [];
let hooks: HttpHandler;
let server: Server;
let port: number;
/** The gateway's side of every connection to `server` (how many bytes it read). */
const serverSockets: net.Socket[] = [];

beforeAll(async () => {
  t = await startConnectorTestApp({ env: { RAPPORT_CONNECTOR_PACKAGES: PACKAGES, RAPPORT_WEBHOOK_MAX_BODY_BYTES: String(MIB) } });
  server = createGatewayServer(t.handler);
  server.on('connection', (socket: net.Socket) => serverSockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
  // The same webhook route, with a logger whose lines the tests read.
  const capture = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  const services = t.app.runtime.services;
  const { registry, connections, runs, refusals, hosts } = services.connectors;
  hooks = createHttpHandler(services, [
    createWebhookRoute(
      {
        registry,
        connections,
        runs,
        refusals,
        targets: { customers: services.customers, ingest: services.ingest, privacy: services.privacy, dataSource: services.dataSource },
        hosts,
        logger: createLogger('debug', {}, capture),
      },
      { maxBodyBytes: MIB },
    ),
  ]);
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

function gql(query: string, variables?: Record<string, unknown>, bearer = t.adminKey) {
  return request(t.handler).post('/graphql').set('authorization', `Bearer ${bearer}`).send({ query, variables });
}

async function keyWith(scopes: string[]): Promise<string> {
  const res = await gql('mutation($s: [String!]!) { createApiKey(name: "security-http", scopes: $s) { key } }', { s: scopes });
  return res.body.data.createApiKey.key;
}

async function createConnection(connector: string, name: string, config: Record<string, unknown>): Promise<{ id: string; localId: string }> {
  const res = await gql('mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }', { input: { connector, name, config } });
  expect(res.body.errors).toBeUndefined();
  const id = res.body.data.createConnection.id as string;
  return { id, localId: Buffer.from(id, 'base64').toString().split(':')[1]! };
}

const webhookConfig = { signingSecret: SECRET, typeValue: 'signup', mapping: { email: 'user.email', externalId: 'id', occurredAt: 'timestamp' } };
const event = (id: string) => JSON.stringify({ id, timestamp: '2024-05-01T12:00:00Z', user: { email: 'hook.sender@example.com' } });

/**
 * Sends a POST whose chunked body of `total` bytes is produced only as fast as
 * the connection takes it, and stops once the answer arrives. Returns the
 * answer, how much the client had sent by then, and how many bytes the gateway
 * read from the connection in all.
 */
async function streamBody(pathname: string, total: number, headers: Record<string, string> = {}) {
  const before = serverSockets.length;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const head = [`POST ${pathname} HTTP/1.1`, 'host: localhost', 'content-type: application/octet-stream', 'transfer-encoding: chunked']
    .concat(Object.entries(headers).map(([name, value]) => `${name}: ${value}`))
    .join('\r\n');
  socket.write(`${head}\r\n\r\n`);
  let answer = '';
  let sentWhenAnswered: number | undefined;
  let sent = 0;
  let closed = false;
  socket.on('data', (data: Buffer) => {
    answer += data.toString('latin1');
    sentWhenAnswered ??= sent;
  });
  socket.on('error', () => undefined);
  const closing = new Promise<void>((resolve) => socket.on('close', () => resolve(void (closed = true))));
  const piece = Buffer.alloc(64 * 1024, 'x');
  const frame = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
  while (sent < total && sentWhenAnswered === undefined && !closed) {
    sent += piece.length;
    if (!socket.write(frame)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closing]);
  }
  if (!closed && sentWhenAnswered === undefined) socket.end('0\r\n\r\n');
  await closing;
  const serverRead = serverSockets.slice(before).reduce((sum, s) => sum + s.bytesRead, 0);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  return { status, answer, sentWhenAnswered, serverRead };
}

describe('8. The development admin key leaks', () => {
  test('`rapport start` serves GraphiQL without the key, prints how to paste it, and answers no foreign origin', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-sec-http-'));
    chmodSync(dataDir, 0o755);
    const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/rapport.js'), 'start'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        RAPPORT_DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'warn',
        DATABASE_URL: '',
        REDIS_URL: '',
        RAPPORT_DEMO_DATA: 'false',
        RAPPORT_BOOTSTRAP_ADMIN_KEY: '',
        RAPPORT_CORS_ORIGINS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`rapport start printed no URL within 90 s:\n${output}`)), 90_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /GraphiQL: (http:\/\/localhost:\d+)\/graphql/.exec(output);
          if (match && /Try: curl/.test(output)) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`rapport start exited with ${code}:\n${output}`)));
      });
      const key = /Development admin key: (dev_\S+)/.exec(output)![1]!;
      expect(output).toContain(`open the Headers tab under the query editor and paste: {"Authorization": "Bearer ${key}"}`);

      const evil = 'https://evil.example';
      const page = await request(base).get('/graphql').set('accept', 'text/html').set('origin', evil);
      expect(page.status).toBe(200);
      expect(page.text).toContain('GraphiQL');
      expect(page.text).not.toContain(key);
      expect(page.text).not.toContain('Bearer');
      const preflight = await request(base)
        .options('/graphql')
        .set('origin', evil)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization');
      const answered = await request(base)
        .post('/graphql')
        .set('origin', evil)
        .set('authorization', `Bearer ${key}`)
        .send({ query: '{ customers(first: 1) { totalCount } }' });
      expect(answered.body.data.customers.totalCount).toBe(0);
      for (const res of [page, preflight, answered]) {
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      }
    } finally {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  test('without RAPPORT_CORS_ORIGINS no route answers a cross-origin request: page, GraphQL, preflight, webhooks, imports, health', async () => {
    const origin = 'https://evil.example';
    const answers = [
      await request(t.handler).get('/graphql').set('accept', 'text/html').set('origin', origin),
      await request(t.handler).post('/graphql').set('origin', origin).set('authorization', `Bearer ${t.adminKey}`).send({ query: '{ connectors { id } }' }),
      await request(t.handler).post('/graphql').set('origin', origin).send({ query: '{ connectors { id } }' }),
      await request(t.handler)
        .options('/graphql')
        .set('origin', origin)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization, content-type'),
      await request(t.handler).options('/imports').set('origin', origin).set('access-control-request-method', 'POST'),
      await request(t.handler).post('/hooks/1').set('origin', origin).send('{}'),
      await request(t.handler).post('/imports').set('origin', origin).send('a,b'),
      await request(t.handler).get('/healthz').set('origin', origin),
    ];
    expect(answers[1]!.status).toBe(200);
    for (const res of answers) {
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
    }
  });

  test('RAPPORT_CORS_ORIGINS admits exactly its origins on every route, preflights included, and never credentials', async () => {
    const cors = await startConnectorTestApp({ env: { RAPPORT_CORS_ORIGINS: `${CORS_ORIGIN}, http://localhost:5173` } });
    try {
      const h = cors.handler;
      const auth = `Bearer ${cors.adminKey}`;
      const preflight = await request(h)
        .options('/graphql')
        .set('origin', CORS_ORIGIN)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization, content-type');
      expect(preflight.status).toBe(204);
      expect(preflight.headers).toMatchObject({
        'access-control-allow-origin': CORS_ORIGIN,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, accept',
        vary: 'Origin',
      });
      const allowed: [string, request.Response][] = [
        [CORS_ORIGIN, preflight],
        [CORS_ORIGIN, await request(h).post('/graphql').set('origin', CORS_ORIGIN).set('authorization', auth).send({ query: '{ connectors { id } }' })],
        [CORS_ORIGIN, await request(h).post('/graphql').set('origin', CORS_ORIGIN).send({ query: '{ connectors { id } }' })],
        [CORS_ORIGIN, await request(h).get('/graphql').set('accept', 'text/html').set('origin', CORS_ORIGIN)],
        [CORS_ORIGIN, await request(h).post('/imports').set('origin', CORS_ORIGIN).send('a,b')],
        [CORS_ORIGIN, await request(h).post('/hooks/1').set('origin', CORS_ORIGIN).send('{}')],
        [CORS_ORIGIN, await request(h).get('/healthz').set('origin', CORS_ORIGIN)],
        ['http://localhost:5173', await request(h).get('/healthz').set('origin', 'http://localhost:5173')],
      ];
      expect(allowed.map(([, res]) => res.status)).toEqual([204, 200, 401, 200, 401, 401, 200, 200]);
      for (const [origin, res] of allowed) {
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      }
      // Near misses and the opaque origin of sandboxed frames get nothing.
      for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null']) {
        for (const res of [
          await request(h)
            .options('/graphql')
            .set('origin', origin)
            .set('access-control-request-method', 'POST')
            .set('access-control-request-headers', 'authorization'),
          await request(h).post('/graphql').set('origin', origin).set('authorization', auth).send({ query: '{ connectors { id } }' }),
          await request(h).get('/graphql').set('accept', 'text/html').set('origin', origin),
        ]) {
          expect(res.headers['access-control-allow-origin']).toBeUndefined();
          expect(res.headers['access-control-allow-methods']).toBeUndefined();
          expect(res.headers.vary).toBe('Origin');
        }
      }
    } finally {
      await cors.close();
    }
  });

  test('RAPPORT_CORS_ORIGINS accepts only exact origins', () => {
    for (const value of ['*', 'null', 'https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'ftp://files.example.com']) {
      let error: unknown;
      try {
        loadConfig({ RAPPORT_CORS_ORIGINS: `https://ok.example.com,${value}` });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).issues[0]).toMatchObject({ variable: 'RAPPORT_CORS_ORIGINS', message: expect.stringContaining(value) });
    }
    expect(loadConfig({ RAPPORT_CORS_ORIGINS: ' https://a.example.com , http://localhost:5173 ' }).corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });
});

describe('Other finding 1: Bodies before authentication', () => {
  const TOTAL = 200 * MIB;

  test('POST /imports without credentials, or without connectors:admin, is refused before its 200 MiB body is read', async () => {
    const narrow = await keyWith(['customers:read']);
    for (const [headers, status] of [
      [{}, 401],
      [{ authorization: 'Bearer rk_wrongwrong_0000000000000000000000000000000000' }, 401],
      [{ authorization: `Bearer ${narrow}` }, 403],
    ] as const) {
      const result = await streamBody('/imports?fileName=big.csv', TOTAL, headers);
      expect(result.status).toBe(status);
      expect(result.answer).toContain(status === 401 ? '"code":"UNAUTHENTICATED"' : '"code":"FORBIDDEN"');
      // Answered while the client was still sending, having taken in a small fraction of the body.
      expect(result.sentWhenAnswered).toBeLessThan(TOTAL);
      expect(result.serverRead).toBeLessThan(MIB);
    }
    expect(await t.app.sql(`SELECT 1 FROM connector_runs WHERE kind = 'IMPORT'`)).toEqual([]);
  });

  test('POST /graphql without credentials is refused (401) before its body is read', async () => {
    const result = await streamBody('/graphql', TOTAL, { 'content-type': 'application/json' });
    expect(result.status).toBe(401);
    expect(result.answer).toContain('"code":"UNAUTHENTICATED"');
    expect(result.sentWhenAnswered).toBeLessThan(TOTAL);
    expect(result.serverRead).toBeLessThan(MIB);
  });

  test('a webhook, authenticated by its body, has it read only up to RAPPORT_WEBHOOK_MAX_BODY_BYTES (413)', async () => {
    const result = await streamBody('/hooks/1', TOTAL);
    expect(result.status).toBe(413);
    expect(result.answer).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(result.serverRead).toBeLessThan(2 * MIB);
  });

  test('a client waiting for 100 Continue is refused without being asked for its body, and an admitted one is', async () => {
    const exchange = async (headers: Record<string, string>) => {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const body = 'occurredAt,email\n2024-05-01T00:00:00Z,continue@example.com\n';
      const lines = [
        'POST /imports?fileName=c.csv HTTP/1.1',
        'host: localhost',
        'expect: 100-continue',
        'content-type: text/csv',
        `content-length: ${body.length}`,
        'connection: close',
      ];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      let answer = '';
      const first = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString('latin1'))));
      answer += first;
      if (first.startsWith('HTTP/1.1 100')) socket.write(body);
      socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
      await new Promise((resolve) => socket.on('close', resolve));
      return { first, answer };
    };
    const refused = await exchange({});
    expect(refused.first).toMatch(/^HTTP\/1\.1 401 /);
    expect(refused.answer).not.toContain('100 Continue');
    const admitted = await exchange({ authorization: `Bearer ${t.adminKey}` });
    expect(admitted.first).toMatch(/^HTTP\/1\.1 100 Continue/);
    expect(admitted.answer).toMatch(/HTTP\/1\.1 202 /);
  });
});

describe('Other finding 2: Audit gaps', () => {
  let customerId: string;
  let customerLocalId: string;
  beforeAll(async () => {
    const res = await gql('mutation($input: [CustomerInput!]!) { upsertCustomers(input: $input) { committed } }', {
      input: [{ displayName: 'Audited Export', identifiers: [{ type: 'email', value: 'audited.export@example.com' }] }],
    });
    expect(res.body.data.upsertCustomers.committed).toBe(true);
    [{ id: customerLocalId }] = await t.app.sql<{ id: string }>(
      `SELECT customer_id::text AS id FROM customer_identifiers WHERE value = 'audited.export@example.com'`,
    );
    customerId = Buffer.from(`Customer:${customerLocalId}`).toString('base64');
  });

  const exportEntries = async () =>
    await t.app.sql<{ operation: string; records: string[]; result: string; variables: unknown }>(
      `SELECT operation, records, result, variables FROM audit_log WHERE operation LIKE '%exportCustomer%' ORDER BY id`,
    );

  test('exportCustomer through a named fragment, an inline fragment or @include is audited, naming the customer; a skipped one is not', async () => {
    const before = (await exportEntries()).length;
    const documents = [
      ['query($id: ID!) { ...Export } fragment Export on Query { exportCustomer(id: $id) }', { id: customerId }],
      ['query($id: ID!) { ... on Query { exportCustomer(id: $id) } }', { id: customerId }],
      ['query($id: ID!, $yes: Boolean!) { exportCustomer(id: $id) @include(if: $yes) }', { id: customerId, yes: true }],
      ['query($id: ID!, $yes: Boolean!) { ... @include(if: $yes) { exportCustomer(id: $id) } }', { id: customerId, yes: true }],
      ['query($id: ID!) { ...A } fragment A on Query { ...B } fragment B on Query { data: exportCustomer(id: $id) }', { id: customerId }],
    ] as const;
    for (const [query, variables] of documents) {
      const res = await gql(query, variables);
      expect(res.body.errors).toBeUndefined();
      expect(JSON.stringify(res.body.data)).toContain('audited.export@example.com');
    }
    const entries = (await exportEntries()).slice(before);
    expect(entries).toHaveLength(documents.length);
    for (const entry of entries) expect(entry).toMatchObject({ operation: 'exportCustomer', records: [`customer:${customerLocalId}`] });
    // An export that does not run leaves no entry.
    const skipped = await gql('query($id: ID!, $yes: Boolean!) { connectors { id } ... @include(if: $yes) { exportCustomer(id: $id) } }', {
      id: customerId,
      yes: false,
    });
    expect(skipped.body.data.exportCustomer).toBeUndefined();
    expect(await exportEntries()).toHaveLength(before + documents.length);
  });

  test('an export with the id written inline is logged with that id', async () => {
    const before = (await exportEntries()).length;
    const res = await gql(`{ exportCustomer(id: "${customerId}") }`);
    expect(res.body.errors).toBeUndefined();
    const entries = (await exportEntries()).slice(before);
    expect(entries).toEqual([expect.objectContaining({ operation: 'exportCustomer', records: [`customer:${customerLocalId}`] })]);
  });

  test('createApiKey and revokeApiKey are audited as COMMITTED, naming the key', async () => {
    const created = await gql('mutation { createApiKey(name: "audited-key", scopes: ["customers:read"]) { apiKey { id } } }');
    const keyId = created.body.data.createApiKey.apiKey.id as string;
    const keyLocalId = Buffer.from(keyId, 'base64').toString().split(':')[1]!;
    await gql('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: keyId });
    const entries = await t.app.sql(
      `SELECT operation, result, records, variables FROM audit_log WHERE operation IN ('createApiKey', 'revokeApiKey') AND records @> $1::jsonb ORDER BY id`,
      [JSON.stringify([`api_key:${keyLocalId}`])],
    );
    expect(entries).toEqual([
      { operation: 'createApiKey', result: 'COMMITTED', records: [`api_key:${keyLocalId}`], variables: {} },
      { operation: 'revokeApiKey', result: 'COMMITTED', records: [`api_key:${keyLocalId}`], variables: { id: keyId } },
    ]);
    // The secret never reaches the log.
    expect(JSON.stringify(await t.app.sql(`SELECT variables, records FROM audit_log`))).not.toMatch(/rk_[a-z0-9]{10}_/);
  });

  test('auditLog pages newest first by number: every entry is reached, past ids 9 and 10', async () => {
    for (let i = 0; i < 12; i++) await gql(`mutation { createApiKey(name: "page-${i}", scopes: ["customers:read"]) { apiKey { id } } }`);
    const all = (await t.app.sql<{ id: string }>(`SELECT id::text FROM audit_log ORDER BY audit_log.id DESC`)).map((r) => r.id);
    expect(all.length).toBeGreaterThan(10);
    expect(all.some((id) => id.length === 1) && all.some((id) => id.length === 2)).toBe(true);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res = await gql('query($after: String) { auditLog(first: 4, after: $after) { entries { id } endCursor hasNextPage } }', { after });
      const log = res.body.data.auditLog;
      seen.push(...log.entries.map((e: { id: string }) => e.id));
      if (!log.hasNextPage) break;
      after = log.endCursor;
    }
    // Entries written while paging (none here: reads are not audited) would only add to the front.
    expect(seen).toEqual(all);
  });
});

describe('Connection.runs and connections page by number', () => {
  test('a connection with 14 runs lists them newest first across pages', async () => {
    const { id, localId } = await createConnection('webhook', 'many-runs', webhookConfig);
    const started: string[] = [];
    for (let i = 0; i < 14; i++) started.push(await t.app.runtime.services.connectors.runs.start('WEBHOOK', localId));
    // The ids cross from one digit to two, where text order and number order part.
    expect(started.some((r) => r.length === 1) && started.some((r) => r.length === 2)).toBe(true);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await gql(
        'query($id: ID!, $after: String) { node(id: $id) { ... on Connection { runs(first: 5, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } } } }',
        { id, after },
      );
      const runs = res.body.data.node.runs;
      expect(runs.totalCount).toBe(14);
      seen.push(...runs.edges.map((e: { node: { id: string } }) => Buffer.from(e.node.id, 'base64').toString().split(':')[1]));
      if (!runs.pageInfo.hasNextPage) break;
      after = runs.pageInfo.endCursor;
    }
    expect(seen).toEqual([...started].sort((a, b) => Number(b) - Number(a)));
  });

  test('more than ten connections list oldest first across pages', async () => {
    for (let i = 0; i < 11; i++) await createConnection('webhook', `paged-${i}`, webhookConfig);
    const all = (await t.app.sql<{ id: string }>(`SELECT id::text FROM connections ORDER BY connections.id`)).map((r) => r.id);
    expect(all.some((id) => id.length === 1) && all.some((id) => id.length === 2)).toBe(true);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await gql('query($after: String) { connections(first: 4, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }', {
        after,
      });
      const list = res.body.data.connections;
      seen.push(...list.edges.map((e: { node: { id: string } }) => Buffer.from(e.node.id, 'base64').toString().split(':')[1]));
      if (!list.pageInfo.hasNextPage) break;
      after = list.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
  });
});

describe('Other finding 5: Webhook endpoint', () => {
  const deliver = (handler: HttpHandler, pathname: string, body: string, secret: string | null = SECRET) => {
    const req = request(handler).post(pathname).set('content-type', 'application/json');
    if (secret) req.set(WEBHOOK_SIGNATURE_HEADER, signWebhook(secret, body, new Date()));
    return req.send(body);
  };
  const refusedDeliveries = async (id: string) =>
    (await gql('query($id: ID!) { node(id: $id) { ... on Connection { refusedDeliveries { count lastReason lastRefusedAt } } } }', { id })).body.data.node
      .refusedDeliveries;

  test('unknown, malformed, pull-only, unloaded, paused and badly signed deliveries get one answer', async () => {
    const signed = await createConnection('webhook', 'uniform-signed', webhookConfig);
    const paused = await createConnection('webhook', 'uniform-paused', webhookConfig);
    await gql('mutation($id: ID!) { updateConnection(id: $id, input: { status: PAUSED }) { status } }', { id: paused.id });
    const pull = await createConnection('helpdesk', 'uniform-pull', { baseUrl: 'https://helpdesk.example.com', apiToken: 'helpdesk-token-0123456789abcdef' });
    // A connection of a plugin that failed to load (it cannot be created through the API).
    const [{ id: unloaded }] = await t.app.sql<{ id: string }>(
      `INSERT INTO connections (connector, name, config) VALUES ('broken', 'uniform-unloaded', '{}') RETURNING id::text`,
    );
    const body = event('evt_uniform');
    const answers = [
      await deliver(t.handler, '/hooks/999999', body),
      await deliver(t.handler, '/hooks/%', body),
      await deliver(t.handler, '/hooks/%E0%A4%A', body),
      await deliver(t.handler, '/hooks/abc', body),
      await deliver(t.handler, '/hooks/0', body),
      await deliver(t.handler, '/hooks/99999999999999999999', body),
      await deliver(t.handler, `/hooks/${pull.localId}`, body),
      await deliver(t.handler, `/hooks/${unloaded}`, body),
      await deliver(t.handler, `/hooks/${paused.localId}`, body),
      await deliver(t.handler, `/hooks/${signed.localId}`, body, null),
      await deliver(t.handler, `/hooks/${signed.localId}`, body, 'whsec_not_the_secret_0000'),
    ];
    for (const res of answers) {
      expect({ status: res.status, body: res.body }).toEqual({
        status: 401,
        body: {
          code: 'WEBHOOK_REFUSED',
          message: 'the delivery was refused: the signature is missing, wrong or outside the replay window, or this endpoint does not accept deliveries',
        },
      });
    }
    // The signed delivery is still accepted.
    expect((await deliver(t.handler, `/hooks/${signed.localId}`, body)).status).toBe(200);
  });

  test('a connection whose stored secrets cannot be read answers 503 CONNECTOR_UNAVAILABLE, never 500', async () => {
    const broken = await createConnection('webhook', 'unreadable-secret', webhookConfig);
    // What a changed RAPPORT_SECRET_KEY leaves behind: a stored secret that no longer decrypts.
    await t.app.sql(`UPDATE connections SET config = jsonb_set(config, '{signingSecret}', '"enc:v1:not-a-sealed-secret"') WHERE id = $1`, [broken.localId]);
    const res = await deliver(t.handler, `/hooks/${broken.localId}`, event('evt_unreadable'));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'CONNECTOR_UNAVAILABLE' });
  });

  test('each refusal is counted on its connection with the reason, and shown to operators', async () => {
    const signed = await createConnection('webhook', 'counted-signed', webhookConfig);
    const paused = await createConnection('webhook', 'counted-paused', webhookConfig);
    const pull = await createConnection('helpdesk', 'counted-pull', { baseUrl: 'https://helpdesk.example.com', apiToken: 'helpdesk-token-0123456789abcdef' });
    expect(await refusedDeliveries(signed.id)).toEqual({ count: 0, lastReason: null, lastRefusedAt: null });
    const since = Date.now();
    await deliver(t.handler, `/hooks/${signed.localId}`, event('evt_c1'), null);
    await deliver(t.handler, `/hooks/${signed.localId}`, event('evt_c2'), 'whsec_not_the_secret_0000');
    await deliver(t.handler, `/hooks/${signed.localId}`, event('evt_c3'));
    await gql('mutation($id: ID!) { updateConnection(id: $id, input: { status: PAUSED }) { status } }', { id: paused.id });
    await deliver(t.handler, `/hooks/${paused.localId}`, event('evt_c4'));
    await deliver(t.handler, `/hooks/${pull.localId}`, event('evt_c5'));
    const counted = await refusedDeliveries(signed.id);
    expect(counted).toMatchObject({ count: 2, lastReason: 'SIGNATURE_INVALID' });
    expect(new Date(counted.lastRefusedAt).getTime()).toBeGreaterThanOrEqual(since - 1000);
    expect(await refusedDeliveries(paused.id)).toMatchObject({ count: 1, lastReason: 'CONNECTION_PAUSED' });
    expect(await refusedDeliveries(pull.id)).toMatchObject({ count: 1, lastReason: 'NO_WEBHOOK' });
    // A delivery to no connection has nothing to be counted against and leaves no row.
    const rows = Number((await t.app.sql<{ n: string }>(`SELECT count(*) AS n FROM webhook_refusals`))[0]!.n);
    await deliver(t.handler, '/hooks/987654', event('evt_c6'));
    expect(Number((await t.app.sql<{ n: string }>(`SELECT count(*) AS n FROM webhook_refusals`))[0]!.n)).toBe(rows);
    // The listing reads every connection's refusals.
    const listed = await gql('{ connections(first: 100) { edges { node { name refusedDeliveries { count lastReason } } } } }');
    const byName = Object.fromEntries(
      listed.body.data.connections.edges.map((e: { node: { name: string; refusedDeliveries: unknown } }) => [e.node.name, e.node.refusedDeliveries]),
    );
    expect(byName['counted-signed']).toEqual({ count: 2, lastReason: 'SIGNATURE_INVALID' });
    expect(byName['counted-pull']).toEqual({ count: 1, lastReason: 'NO_WEBHOOK' });
    // Operators only: a key without connectors:admin cannot read it.
    const narrow = await keyWith(['customers:read']);
    const denied = await gql('query($id: ID!) { node(id: $id) { ... on Connection { refusedDeliveries { count } } } }', { id: signed.id }, narrow);
    expect(denied.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN' });
  });

  test('a verify that throws is one refusal like a false one; the warn line names the connection and reason, never the body', async () => {
    const throwing = await createConnection('throwing-verify', 'throwing', {});
    const signed = await createConnection('webhook', 'logged-signed', webhookConfig);
    logLines.length = 0;
    const secretBody = JSON.stringify({ id: 'evt_secret', note: 'alice.victim@example.org' });
    const thrown = await deliver(hooks, `/hooks/${throwing.localId}`, secretBody);
    const unsigned = await deliver(hooks, `/hooks/${signed.localId}`, secretBody, null);
    for (const res of [thrown, unsigned]) expect([res.status, res.body.code]).toEqual([401, 'WEBHOOK_REFUSED']);
    expect(await refusedDeliveries(throwing.id)).toMatchObject({ count: 1, lastReason: 'SIGNATURE_INVALID' });
    const warnings = logLines.filter((line) => line.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'webhook delivery refused',
        connectionId: throwing.localId,
        connector: 'throwing-verify',
        reason: 'SIGNATURE_INVALID',
        verifyError: 'TypeError',
      }),
      expect.objectContaining({ msg: 'webhook delivery refused', connectionId: signed.localId, connector: 'webhook', reason: 'SIGNATURE_INVALID' }),
    ]);
    expect(JSON.stringify(logLines)).not.toContain('alice.victim');
    expect(JSON.stringify(logLines)).not.toContain('evt_secret');
  });
});

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { CreateConnectionDocument } from '../generated/graphql';
import { loadPlugins } from '../../src/modules/connectors/plugin-loader';
import { REPO_ROOT, startConnectorTestApp, type ConnectorTestApp } from '../helpers/connectors';

/**
 * The plugin sandbox, against a plugin that tries every way out
 * (test/fixtures/hostile-plugins/hostile): each attempt it reports must have
 * failed, what it would have changed must not exist, and the gateway must
 * keep answering.
 */

const HOSTILE = path.join(__dirname, '../fixtures/hostile-plugins');
const LEAKED_ADMIN_KEY = `leak-me-${randomBytes(12).toString('hex')}`;
const SECRET_KEY_CONTENT = randomBytes(32).toString('base64');
// Long enough that a host filling its 64 MB heap reaches the limit (V8's last full collections included) before
// the deadline on a loaded machine: the heap test is about the crash, not the deadline.
const CALL_TIMEOUT_MS = 5_000;
const markers = [path.join(REPO_ROOT, '.hostile-load-marker'), path.join(REPO_ROOT, '.hostile-write-marker')];
const saved = { admin: process.env.RAPPORT_BOOTSTRAP_ADMIN_KEY, database: process.env.DATABASE_URL };

let t: ConnectorTestApp;
let dataDir: string;
let childMarker: string;
let db: URL;

beforeAll(async () => {
  // What a deployment holds in the gateway's environment and data directory.
  process.env.RAPPORT_BOOTSTRAP_ADMIN_KEY = LEAKED_ADMIN_KEY;
  dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-sandbox-'));
  writeFileSync(path.join(dataDir, 'secret.key'), SECRET_KEY_CONTENT, { mode: 0o600 });
  childMarker = path.join(tmpdir(), `hostile-child-${randomBytes(6).toString('hex')}`);
  t = await startConnectorTestApp({
    workers: true,
    env: {
      RAPPORT_PLUGINS_DIR: HOSTILE,
      RAPPORT_CONNECTOR_PACKAGES: '',
      RAPPORT_DATA_DIR: dataDir,
      RAPPORT_PLUGIN_MAX_HEAP_MB: '64',
      RAPPORT_PLUGIN_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
      RAPPORT_SYNC_PAGE_TIMEOUT_SECONDS: '2',
      RAPPORT_SYNC_TIME_LIMIT_SECONDS: '60',
    },
  });
  process.env.DATABASE_URL = t.app.database.url;
  db = new URL(t.app.database.url);
});

afterAll(async () => {
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
  for (const file of [...markers, childMarker]) rmSync(file, { force: true });
  if (saved.admin === undefined) delete process.env.RAPPORT_BOOTSTRAP_ADMIN_KEY;
  else process.env.RAPPORT_BOOTSTRAP_ADMIN_KEY = saved.admin;
  if (saved.database === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = saved.database;
});

async function connection(name: string, probe: string, extra: Record<string, unknown> = {}) {
  const config = {
    probe,
    secretKeyFile: path.join(dataDir, 'secret.key'),
    dbHost: db.hostname,
    dbPort: Number(db.port),
    dbName: db.pathname.slice(1),
    dbUser: decodeURIComponent(db.username),
    childMarker,
    ...extra,
  };
  const { data, errors } = await t.gql(CreateConnectionDocument, { input: { connector: 'hostile', name, config } });
  expect(errors).toBeUndefined();
  return data!.createConnection;
}

function deliver(hookPath: string, id: string) {
  return request(t.handler).post(hookPath).set('content-type', 'application/json').send(JSON.stringify({ id }));
}

async function reportOf(externalId: string): Promise<Record<string, string>> {
  const [row] = await t.app.sql<{ properties: Record<string, string> }>(`SELECT properties FROM interactions WHERE external_id = $1`, [externalId]);
  expect(row).toBeDefined();
  return row!.properties;
}

const runToEnd = (connectionId: string) => t.runToEnd(connectionId);

const syncReport = async (connectionId: string) => {
  const local = Buffer.from(connectionId, 'base64').toString().split(':')[1];
  const [row] = await t.app.sql<{ properties: Record<string, string> }>(
    `SELECT properties FROM interactions WHERE source = $1 AND external_id LIKE 'sync-%' ORDER BY id DESC LIMIT 1`,
    [`connector:${local}`],
  );
  expect(row).toBeDefined();
  return row!.properties;
};

/** Every attempt to leave the sandbox failed: the assertions shared by the webhook and sync hosts. */
function expectConfined(report: Record<string, string>) {
  // Nothing of Rapport's environment: at most the time zone.
  expect(report.envKeys!.split(',').filter((key) => key !== '' && key !== 'TZ')).toEqual([]);
  expect(report.adminKey).toBe('');
  for (const attempt of [
    'readSecretKey',
    'readDefaultDataDir',
    'readSources',
    'readOtherPlugin',
    'readPasswd',
    'readGatewayEnviron',
    'writeRepository',
    'childProcess',
    'workerThread',
    'signalGateway',
    'processBinding',
    'debugProcess',
    'traceEvents',
    'heapSnapshotAtLimit',
    'v8Flags',
    'udpSocketClass',
  ]) {
    expect([attempt, report[attempt]]).toEqual([attempt, expect.stringMatching(/^denied: /)]);
  }
  // Enforced by the permission model, not by a missing file or a file mode.
  for (const attempt of [
    'readSecretKey',
    'readSources',
    'readPasswd',
    'writeRepository',
    'childProcess',
    'workerThread',
    'processBinding',
    'debugProcess',
    'traceEvents',
    'heapSnapshotAtLimit',
    'v8Flags',
    'udpSocketClass',
  ]) {
    expect([attempt, report[attempt]]).toEqual([attempt, 'denied: ERR_ACCESS_DENIED']);
  }
  // The network outside the kit's client holds the same egress policy: no loopback (the database's port),
  // by address, by name or by port and host; no metadata endpoint; no Unix socket, UDP or listening.
  for (const attempt of ['fetchLoopback', 'fetchMetadata', 'socketLoopback', 'socketByName', 'socketPortHost']) {
    expect([attempt, report[attempt]]).toEqual([attempt, 'denied: CONNECTOR_EGRESS_DENIED']);
  }
  for (const attempt of ['unixSocket', 'udp', 'listen']) expect([attempt, report[attempt]]).toEqual([attempt, 'denied: ERR_ACCESS_DENIED']);
  // So the database is out of reach, credentials or not.
  expect(report.database).not.toContain('ALLOWED');
  expect(report.database).toContain('CONNECTOR_EGRESS_DENIED');
  // Its own folder stays readable: the sandbox confines, it does not break the plugin.
  expect(report.readOwnFolder).toMatch(/^ALLOWED: /);
  // An unprivileged user when Rapport runs as root.
  if (process.getuid!() === 0) expect(report.uid).not.toBe('0');
  else expect(report.uid).toBe(String(process.getuid!()));
  for (const file of [...markers, childMarker]) expect([file, existsSync(file)]).toEqual([file, false]);
}

describe('No plugin code ever runs in the gateway or worker process', () => {
  test('loading runs in a plugin host: the plugin loads, and its load-time write into the repository never lands', async () => {
    const connectors = t.app.runtime.services.connectors.registry.list();
    expect(connectors.map((c) => [c.id, c.status])).toEqual([['hostile', 'LOADED']]);
    expect(existsSync(markers[0]!)).toBe(false);
  });

  test('webhook verify and parse run in one warm plugin host, reused across deliveries, not in the gateway', async () => {
    const hook = (await connection('pids', 'none')).webhookPath!;
    expect((await deliver(hook, 'pid-1')).status).toBe(200);
    expect((await deliver(hook, 'pid-2')).status).toBe(200);
    const [first, second] = [await reportOf('pid-1'), await reportOf('pid-2')];
    expect(first.pid).not.toBe(String(process.pid));
    expect(second.pid).toBe(first.pid);
    expect(t.app.runtime.services.connectors.hosts.running()).toContainEqual({ connector: 'hostile', pid: Number(first.pid), warm: true });
  });

  test('a sync runs in a plugin host of its own', async () => {
    const created = await connection('sync-pid', 'none');
    expect((await runToEnd(created.id)).status).toBe('SUCCEEDED');
    const report = await syncReport(created.id);
    expect(report.pid).not.toBe(String(process.pid));
    const warm = t.app.runtime.services.connectors.hosts
      .running()
      .filter((h) => h.warm)
      .map((h) => String(h.pid));
    expect(warm).not.toContain(report.pid);
  });
});

describe('What a plugin host gets', () => {
  test('in a webhook call: no environment, keys, sources, other plugins, database, writes, child processes, workers or signals', async () => {
    const hook = (await connection('escapes', 'escapes')).webhookPath!;
    const response = await deliver(hook, 'escape-webhook');
    expect(response.status).toBe(200);
    expectConfined(await reportOf('escape-webhook'));
  });

  test('in a sync: the same', async () => {
    const created = await connection('escapes-sync', 'escapes');
    expect((await runToEnd(created.id)).status).toBe('SUCCEEDED');
    expectConfined(await syncReport(created.id));
  });

  test('a plugin that ships a symbolic link out of its folder (the permission model checks paths, not links) is refused at load', () => {
    const pluginsDir = mkdtempSync(path.join(REPO_ROOT, '.sandbox-links-'));
    try {
      chmodSync(pluginsDir, 0o755);
      const folder = path.join(pluginsDir, 'linked');
      mkdirSync(folder, { mode: 0o755 });
      writeFileSync(
        path.join(folder, 'index.js'),
        `const { z } = require('zod');
const { defineConnector } = require('@rapport/connector-kit');
module.exports = defineConnector({ id: 'linked', apiVersion: 1, version: '1.0.0', displayName: 'Linked', description: 'Reads a key through a link.', config: z.object({}),
  webhook: { verify: () => true, parse: () => ({ interactions: [] }) } });
`,
      );
      symlinkSync(path.join(dataDir, 'secret.key'), path.join(folder, 'key'));
      const [plugin] = loadPlugins({ pluginsDir });
      expect(plugin).toMatchObject({ id: 'linked', status: 'FAILED', error: expect.stringContaining('is a symbolic link to') });
    } finally {
      rmSync(pluginsDir, { recursive: true, force: true });
    }
  });

  test('a heap limit: a plugin that allocates past it ends its own host (503), and the next delivery gets a fresh host', async () => {
    const fine = (await connection('after-heap', 'none')).webhookPath!;
    expect((await deliver(fine, 'before-heap')).status).toBe(200);
    const before = (await reportOf('before-heap')).pid;

    const response = await deliver((await connection('heap', 'heap')).webhookPath!, 'heap-1');
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: 'PLUGIN_CRASHED' });
    expect((await request(t.handler).get('/healthz')).status).toBe(200);

    expect((await deliver(fine, 'after-heap')).status).toBe(200);
    expect((await reportOf('after-heap')).pid).not.toBe(before);
  });
});

describe('Deadlines', () => {
  test('a synchronous loop in verify does not stall the gateway: /healthz answers first, the delivery gets 503 PLUGIN_TIMEOUT, the next one a fresh host', async () => {
    const fine = (await connection('after-busy', 'none')).webhookPath!;
    expect((await deliver(fine, 'before-busy')).status).toBe(200);
    const before = (await reportOf('before-busy')).pid;

    // The loop lasts twice the deadline, then verify refuses: without a sandbox the loop would end, after freezing the
    // gateway meanwhile, and the 401 would leave before the waiting health check is even read.
    const hook = (await connection('busy', 'busy-loop', { busyMs: CALL_TIMEOUT_MS * 2 })).webhookPath!;
    const order: string[] = [];
    const slow = deliver(hook, 'busy-1').then((r) => (order.push('verify'), r));
    // Let the delivery reach the plugin's loop before asking for health.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const health = request(t.handler)
      .get('/healthz')
      .then((r) => (order.push('healthz'), r));
    const [healthz, verify] = await Promise.all([health, slow]);
    expect(healthz.status).toBe(200);
    expect(order).toEqual(['healthz', 'verify']);
    expect(verify.status).toBe(503);
    expect(verify.body).toMatchObject({ code: 'PLUGIN_TIMEOUT' });

    expect((await deliver(fine, 'after-busy')).status).toBe(200);
    expect((await reportOf('after-busy')).pid).not.toBe(before);
  });

  test('config validation runs the plugin’s schema (plugin code) in its host, with the call deadline', async () => {
    const { errors } = await t.gql(CreateConnectionDocument, {
      input: { connector: 'hostile', name: 'busy-validation', config: { busyInValidationMs: CALL_TIMEOUT_MS * 2 } },
    });
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'PLUGIN_TIMEOUT', field: 'config' });
    const { errors: none } = await t.gql(CreateConnectionDocument, { input: { connector: 'hostile', name: 'quick-validation', config: {} } });
    expect(none).toBeUndefined();
  });

  test('a sync page past its deadline fails the run with PLUGIN_TIMEOUT', async () => {
    const created = await connection('busy-sync', 'busy-loop', { busyMs: 5_000 });
    const run = await runToEnd(created.id);
    expect(run).toMatchObject({ status: 'FAILED', error: expect.stringContaining('PLUGIN_TIMEOUT') });
  });
});

describe('Records go back over IPC and are validated by the host', () => {
  test('a plugin that forges a message on its channel to Rapport gets its host killed, and nothing it sent is trusted', async () => {
    const hook = (await connection('forge', 'forge')).webhookPath!;
    const response = await deliver(hook, 'forged-1');
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: 'PLUGIN_CRASHED' });
    expect(await t.app.sql(`SELECT 1 FROM interactions WHERE external_id = 'forged-1'`)).toEqual([]);
    expect((await request(t.handler).get('/healthz')).status).toBe(200);
  });
});

describe('a plugin host never reads Rapport’s own folder', () => {
  test('a connector package given as a file inside the checkout is rooted at its folder, not at Rapport’s package.json above it', () => {
    const entry = path.join(REPO_ROOT, 'plugins/webhook/index.ts');
    const [plugin] = loadPlugins({ packages: [entry] });
    expect(plugin).toMatchObject({ status: 'LOADED', id: 'webhook' });
    expect(plugin.status === 'LOADED' && plugin.root).toBe(path.join(REPO_ROOT, 'plugins/webhook'));
  });
});

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';

/**
 * The embedded-mode backup of docs/operations.md, done as it says on a real
 * data directory: `rapport start`, a write, Ctrl-C, the documented `tar`
 * commands (read from the page), and a start from the restored directory
 * elsewhere, which serves the data written before the backup.
 */

const root = path.join(__dirname, '..', '..');

/** The shell commands of docs/operations.md's `sh` block that contains `marker`, as written there. */
function documented(marker: string): string {
  const doc = readFileSync(path.join(root, 'docs/operations.md'), 'utf8');
  const block = [...doc.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1]!).find((text) => text.includes(marker));
  if (!block) throw new Error(`docs/operations.md has no sh block with ${marker}`);
  return block;
}

interface Started {
  child: ChildProcess;
  base: string;
  adminKey: string;
}

/** How long one start may take on a loaded machine (a new cluster, its migrations). */
const START_WITHIN_MS = 180_000;

/** `rapport start` as a user runs it (the bin script), on a free port, with `dataDir` as RAPPORT_DATA_DIR and no demo data. */
function start(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, [path.join(root, 'bin/rapport.js'), 'start'], {
    cwd: root,
    env: { ...process.env, RAPPORT_DATA_DIR: dataDir, RAPPORT_DEMO_DATA: 'false', PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: '', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    // Stopped (as Ctrl-C would) when it does not come up, so that no server outlives the test.
    const timer = setTimeout(() => {
      child.removeAllListeners('exit');
      child.once('exit', () => reject(new Error(`rapport start printed no URL within ${START_WITHIN_MS / 1000} s:\n${output}`)));
      child.kill('SIGINT');
    }, START_WITHIN_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /GraphiQL: (http:\/\/localhost:\d+)\/graphql/.exec(output);
      const key = /Development admin key: (\S+)/.exec(output);
      if (url && key && /Try: curl/.test(output)) {
        clearTimeout(timer);
        resolve({ child, base: url[1]!, adminKey: key[1]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rapport start exited with ${code}:\n${output}`));
    });
  });
}

/** Ctrl-C: SIGINT, and the exit code. */
function stop(started: Started): Promise<number | null> {
  started.child.removeAllListeners('exit');
  return new Promise((resolve) => {
    started.child.on('exit', (code) => resolve(code));
    started.child.kill('SIGINT');
  });
}

const graphql = async (started: Started, query: string, variables?: Record<string, unknown>) => {
  const res = await request(started.base).post('/graphql').set('authorization', `Bearer ${started.adminKey}`).send({ query, variables });
  expect(res.body.errors).toBeUndefined();
  return res.body.data;
};

const CUSTOMER =
  '{ customers(first: 10, filter: { identifier: { type: "email", value: "backup.person@example.com" } }) { totalCount edges { node { displayName identifiers { value } } } } }';

describe('embedded-mode backup and restore (docs/operations.md)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'rapport-backup-'));
  chmodSync(work, 0o755);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test(
    'a data directory saved with the documented tar command, stopped, restores elsewhere with its data',
    async () => {
      // The running installation: RAPPORT_DATA_DIR is ./.rapport of its folder, as with `npm start`.
      const site = path.join(work, 'site');
      mkdirSync(site, { mode: 0o755 });
      const first = await start(path.join(site, '.rapport'));
      const written = await graphql(first, 'mutation($i: [CustomerInput!]!) { upsertCustomers(input: $i) { results { customer { id } } } }', {
        i: [{ displayName: 'Backup Person', identifiers: [{ type: 'email', value: 'backup.person@example.com' }] }],
      });
      const id = written.upsertCustomers.results[0].customer.id;
      expect(await stop(first)).toBe(0);

      const backup = documented('-czf rapport-embedded-backup.tgz');
      const restore = documented('-xzf rapport-embedded-backup.tgz');
      execFileSync('sh', ['-ec', backup], { cwd: site });
      expect(existsSync(path.join(site, 'rapport-embedded-backup.tgz'))).toBe(true);

      // Another folder (another machine) with no data directory yet: the archive is all it gets.
      const elsewhere = path.join(work, 'elsewhere');
      mkdirSync(elsewhere, { mode: 0o755 });
      copyFileSync(path.join(site, 'rapport-embedded-backup.tgz'), path.join(elsewhere, 'rapport-embedded-backup.tgz'));
      rmSync(path.join(site, '.rapport'), { recursive: true, force: true });
      execFileSync('sh', ['-ec', restore], { cwd: elsewhere });
      expect(readdirSync(path.join(elsewhere, '.rapport')).length).toBeGreaterThan(0);

      const restored = await start(path.join(elsewhere, '.rapport'));
      try {
        // The same admin key (the secret key came with the folder), and the customer written before the backup.
        expect(restored.adminKey).toBe(first.adminKey);
        const data = await graphql(restored, CUSTOMER);
        expect(data.customers.totalCount).toBe(1);
        expect(data.customers.edges[0].node).toEqual({ displayName: 'Backup Person', identifiers: [{ value: 'backup.person@example.com' }] });
        const byId = await graphql(restored, 'query($id: ID!) { customer(id: $id) { displayName } }', { id });
        expect(byId.customer.displayName).toBe('Backup Person');
      } finally {
        expect(await stop(restored)).toBe(0);
      }
      // Two starts of a whole server, each bounded by its own wait: more than the default timeout on a loaded machine.
    },
    2 * START_WITHIN_MS + 60_000,
  );
});

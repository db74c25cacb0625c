import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { eventually } from './helpers/app';

const root = path.join(__dirname, '..');

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs `rapport start` as a user would (the bin script), on a free port and its own data directory. */
function start(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [path.join(root, 'bin/rapport.js'), 'start'], {
    cwd: root,
    env: { ...process.env, RAPPORT_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: '', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rapport start printed no URL within 90 s:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphiQL: (http:\/\/localhost:\d+\/graphql)/.exec(output);
      if (match && /Try: curl/.test(output)) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
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

function stop(started: Started, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  started.child.removeAllListeners('exit');
  return new Promise((resolve) => {
    started.child.on('exit', (code) => resolve(code));
    started.child.kill(signal);
  });
}

async function customerCount(started: Started): Promise<number> {
  const base = started.url.replace(/\/graphql$/, '');
  const key = /Development admin key: (\S+)/.exec(started.output())![1];
  const res = await request(base).post('/graphql').set('authorization', `Bearer ${key}`).send({ query: '{ customers(first: 1) { totalCount } }' });
  return res.body.data.customers.totalCount;
}

describe('rapport start (embedded mode)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-cli-'));
  chmodSync(dataDir, 0o755);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('starts with demo data, shuts down cleanly on Ctrl-C, reuses its data, and recovers from a crash', async () => {
    const first = await start(dataDir);
    const base = first.url.replace(/\/graphql$/, '');
    expect((await request(base).get('/readyz')).body.status).toBe('ready');
    expect(await customerCount(first)).toBe(2000);
    const graphiql = await request(base).get('/graphql').set('accept', 'text/html');
    expect(graphiql.text).toContain('Rapport');
    // Without credentials the API answers 401; the printed key works and is the same after a restart.
    expect((await request(base).post('/graphql').send({ query: '{ customers(first: 1) { totalCount } }' })).status).toBe(401);
    const key = /Development admin key: (\S+)/.exec(first.output())![1];
    // `rapport keys create` beside the running server shares its Postgres (and leaves it running).
    const created = spawnSync(process.execPath, [path.join(root, 'bin/rapport.js'), 'keys', 'create', '--name', 'ci', '--scopes', 'customers:read'], {
      cwd: root,
      env: { ...process.env, RAPPORT_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(created.status).toBe(0);
    const apiKey = created.stdout.trim();
    expect(apiKey).toMatch(/^rk_[a-z0-9]{10}_/);
    const asKey = await request(base).post('/graphql').set('authorization', `Bearer ${apiKey}`).send({ query: '{ customers(first: 1) { totalCount } }' });
    expect(asKey.body.data.customers.totalCount).toBe(2000);
    const denied = await request(base).post('/graphql').set('authorization', `Bearer ${apiKey}`).send({ query: '{ scoreModels { kind } }' });
    expect(denied.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'scores:read' });
    // The demo comes with scores and segments, computed by the in-process workers.
    const demo = await eventually(
      async () => {
        const res = await request(base)
          .post('/graphql')
          .set('authorization', `Bearer ${key}`)
          .send({ query: '{ segments(first: 10) { edges { node { name size status } } } scoreModels { kind fittedAt } }' });
        const segments = res.body.data?.segments.edges.map((e: { node: unknown }) => e.node) ?? [];
        const fitted = res.body.data?.scoreModels.filter((m: { fittedAt: string | null }) => m.fittedAt) ?? [];
        return segments.length === 3 && segments.every((s: { status: string; size: number }) => s.status === 'FRESH' && s.size > 0) && fitted.length > 0
          ? segments
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(demo.map((s: { name: string }) => s.name).sort()).toEqual(['Churn risk: high', 'RFM: At Risk', 'RFM: Champions']);
    expect(await stop(first)).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

    // A second start reuses the data: no second seed.
    const second = await start(dataDir);
    expect(await customerCount(second)).toBe(2000);
    expect(second.output()).toContain(`Development admin key: ${key}`);
    // A crash leaves Postgres and its lock behind ...
    expect(await stop(second, 'SIGKILL')).toBeNull();
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);

    // ... and the next start recovers instead of failing.
    const third = await start(dataDir);
    expect(third.output()).toContain('orphaned Postgres');
    expect(await customerCount(third)).toBe(2000);
    expect(await stop(third)).toBe(0);
    // Three starts of a whole server (each bounded by its own 90 s wait) and the demo's first recompute:
    // more than the default test timeout on a loaded CI machine.
  }, 360_000);
});

/** Every live process under `pid` (children, their children…), read from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Ended meanwhile.
    }
    // The command name may hold spaces and parentheses: the parent PID is the second field after the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const visit = (id: number) => {
    for (const child of children.get(id) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** Whether a process runs (a zombie, ended but not yet reaped by its new parent, does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('bin/rapport.js under a process supervisor', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-supervised-'));
  chmodSync(dataDir, 0o755);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('SIGINT to its PID alone stops Rapport, its embedded Postgres and its plugin hosts, and it exits 0', async () => {
    const started = await start(dataDir, { RAPPORT_DEMO_DATA: 'false' });
    const postgres = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    // Its children (plugin hosts) and Postgres (which pg_ctl detaches from Rapport): a supervisor signals neither.
    const processes = [...descendants(started.child.pid!), postgres];
    expect(processes.length).toBeGreaterThan(1);
    expect(processes.every(alive)).toBe(true);

    // Not the process group, as Ctrl-C in a terminal signals: the one PID a supervisor knows.
    expect(await stop(started, 'SIGINT')).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    await eventually(async () => (processes.some(alive) ? undefined : true), { timeoutMs: 10_000 });
    expect(processes.filter(alive)).toEqual([]);
  });

  test('SIGINT while it is still seeding stops it once it is up: exit 0, no Postgres left behind', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'rapport-early-stop-'));
    chmodSync(fresh, 0o755);
    try {
      const child = spawn(process.execPath, [path.join(root, 'bin/rapport.js'), 'start'], {
        cwd: root,
        env: { ...process.env, RAPPORT_DATA_DIR: fresh, PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: '', REDIS_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`rapport start did not begin seeding within 90 s:\n${output}`)), 90_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('seeding the demo data set')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
      });
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('still starting: stopping as soon as everything started is up');
      // It never offered itself as running.
      expect(output).not.toContain('Rapport is running');
      expect(existsSync(path.join(fresh, 'pg', 'postmaster.pid'))).toBe(false);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 180_000);
});

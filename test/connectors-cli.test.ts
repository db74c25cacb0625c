import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/database';

const root = path.join(__dirname, '..');
const rapport = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(root, 'bin/rapport.js'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'silent', REDIS_URL: '', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('rapport connector:new', () => {
  // Inside the checkout (so `@rapport/connector-kit` resolves as it does for plugins/), outside Jest's roots.
  let pluginsDir = '';
  beforeAll(() => {
    pluginsDir = mkdtempSync(path.join(root, '.scaffold-test-'));
  });
  afterAll(() => rmSync(pluginsDir, { recursive: true, force: true }));

  test('scaffolds a plugin whose generated conformance tests pass', () => {
    const created = rapport(['connector:new', 'demo-widget'], { RAPPORT_PLUGINS_DIR: pluginsDir });
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(readdirSync(path.join(pluginsDir, 'demo-widget')).sort()).toEqual(['README.md', 'demo-widget.test.ts', 'index.ts']);
    // --push and --pull generate one half each; the jest run below runs their tests too.
    for (const [id, flag] of [
      ['demo-push', '--push'],
      ['demo-pull', '--pull'],
    ] as const) {
      const half = rapport(['connector:new', id, flag], { RAPPORT_PLUGINS_DIR: pluginsDir });
      expect([half.status, half.stderr]).toEqual([0, '']);
    }
    const pushOnly = readFileSync(path.join(pluginsDir, 'demo-push', 'index.ts'), 'utf8');
    const pullOnly = readFileSync(path.join(pluginsDir, 'demo-pull', 'index.ts'), 'utf8');
    expect([pushOnly.includes('webhook: {'), pushOnly.includes('sync: async'), pushOnly.includes('check: async')]).toEqual([true, false, false]);
    expect([pullOnly.includes('webhook: {'), pullOnly.includes('sync: async'), pullOnly.includes('check: async')]).toEqual([false, true, true]);

    const jest = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules/jest/bin/jest.js'),
        '--rootDir',
        root,
        '--roots',
        pluginsDir,
        '--globalSetup',
        path.join(__dirname, 'fixtures/noop-global-setup.ts'),
        '--globalTeardown',
        path.join(__dirname, 'fixtures/noop-global-setup.ts'),
        '--runInBand',
        pluginsDir,
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(jest.stderr).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(jest.stderr).toMatch(/Test Suites:\s+3 passed, 3 total/);
    expect(jest.status).toBe(0);
  });

  test('--help prints the usage with the options; an unknown option is refused with it', () => {
    const help = rapport(['connector:new', '--help'], { RAPPORT_PLUGINS_DIR: pluginsDir });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: rapport connector:new <id> [--push] [--pull]');
    expect(help.stdout).toContain('--push');
    const unknown = rapport(['connector:new', 'demo-x', '--webhook'], { RAPPORT_PLUGINS_DIR: pluginsDir });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown option --webhook');
  });

  test('refuses an id that is not a slug, and a folder that exists', () => {
    const bad = rapport(['connector:new', 'Acme Helpdesk'], { RAPPORT_PLUGINS_DIR: pluginsDir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('lowercase slug');
    rapport(['connector:new', 'twice'], { RAPPORT_PLUGINS_DIR: pluginsDir });
    const again = rapport(['connector:new', 'twice'], { RAPPORT_PLUGINS_DIR: pluginsDir });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('already exists');
  });
});

describe('connector packages', () => {
  test('a plugin package outside the checkout loads, importing the kit from the host', () => {
    const pkg = mkdtempSync(path.join(tmpdir(), 'rapport-connector-package-'));
    // Readable by others, as an installed package is: when the tests run as root, plugin hosts run as an unprivileged user.
    chmodSync(pkg, 0o755);
    try {
      mkdirSync(path.join(pkg, 'node_modules'));
      symlinkSync(path.join(root, 'node_modules/zod'), path.join(pkg, 'node_modules/zod'));
      writeFileSync(
        path.join(pkg, 'package.json'),
        JSON.stringify({ name: '@acme/rapport-connector-demo', version: '1.0.0', main: 'index.ts', peerDependencies: { '@rapport/connector-kit': '^1.0.0' } }),
      );
      writeFileSync(
        path.join(pkg, 'index.ts'),
        `import { z } from 'zod';
import { defineConnector } from '@rapport/connector-kit';
export default defineConnector({ id: 'acme-demo', apiVersion: 1, version: '1.0.0', displayName: 'Acme demo', description: 'Installed as a package.', config: z.object({}), sync: async () => ({ nextState: {} }) });
`,
      );
      const script = `const { loadPlugins } = require(${JSON.stringify(path.join(root, 'src/modules/connectors/plugin-loader.ts'))});
process.stdout.write(JSON.stringify(loadPlugins({ packages: [${JSON.stringify(pkg)}] }).map((p) => ({ id: p.id, status: p.status, error: p.error }))));`;
      const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(result.stdout)).toEqual([{ id: 'acme-demo', status: 'LOADED' }]);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
  test("a package's own dependencies resolve where npm put them: hoisted beside it, or in its folder when linked", () => {
    // A site where an operator installed connectors (npm hoists their dependencies), and a partner's folder linked into it.
    const site = mkdtempSync(path.join(tmpdir(), 'rapport-connector-site-'));
    const dev = mkdtempSync(path.join(tmpdir(), 'rapport-connector-dev-'));
    chmodSync(site, 0o755);
    chmodSync(dev, 0o755);
    const write = (file: string, content: string) => {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    };
    // A dependency Rapport does not have.
    const dependency = (modules: string) => {
      write(path.join(modules, 'acme-greeting/package.json'), JSON.stringify({ name: 'acme-greeting', version: '1.0.0', main: 'index.js' }));
      write(path.join(modules, 'acme-greeting/index.js'), `exports.greeting = () => 'Acme';\n`);
      symlinkSync(path.join(root, 'node_modules/zod'), path.join(modules, 'zod'));
    };
    const connector = (id: string) => `const { z } = require('zod');
const { greeting } = require('acme-greeting');
const { defineConnector } = require('@rapport/connector-kit');
exports.default = defineConnector({ id: '${id}', apiVersion: 1, version: '1.0.0', displayName: greeting(), description: 'Uses a dependency of its own.', config: z.object({}), sync: async () => ({ nextState: {} }) });
`;
    try {
      dependency(path.join(site, 'node_modules'));
      write(path.join(site, 'node_modules/@acme/hoisted/package.json'), JSON.stringify({ name: '@acme/hoisted', version: '1.0.0', main: 'index.js' }));
      write(path.join(site, 'node_modules/@acme/hoisted/index.js'), connector('acme-hoisted'));
      dependency(path.join(dev, 'node_modules'));
      write(path.join(dev, 'package.json'), JSON.stringify({ name: '@acme/linked', version: '1.0.0', main: 'dist/index.js' }));
      write(path.join(dev, 'dist/index.js'), connector('acme-linked'));
      symlinkSync(dev, path.join(site, 'node_modules/@acme/linked'));
      const script = `const { loadPlugins } = require(${JSON.stringify(path.join(root, 'src/modules/connectors/plugin-loader.ts'))});
process.chdir(${JSON.stringify(site)});
process.stdout.write(JSON.stringify(loadPlugins({ packages: ['@acme/hoisted', '@acme/linked'] }).map((p) => ({ id: p.id, status: p.status, error: p.error }))));`;
      const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(result.stdout)).toEqual([
        { id: 'acme-hoisted', status: 'LOADED' },
        { id: 'acme-linked', status: 'LOADED' },
      ]);
    } finally {
      rmSync(site, { recursive: true, force: true });
      rmSync(dev, { recursive: true, force: true });
    }
  });
});

describe('rapport import', () => {
  let database: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-cli-import-'));
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('imports a CSV with a column mapping and prints a summary with the rejected lines', async () => {
    const file = path.join(dir, 'visits.csv');
    writeFileSync(
      file,
      ['Mail,When,Ref', 'a@example.com,2024-01-02T00:00:00Z,r1', 'b@example.com,2024-01-03T00:00:00Z,r2', 'c@example.com,someday,r3'].join('\n'),
    );
    const result = rapport(
      ['import', file, '--map', 'email=Mail', '--map', 'occurredAt=When', '--map', 'externalId=Ref', '--channel', 'web', '--type', 'visit', '--source', 'cli'],
      {
        DATABASE_URL: database.url,
      },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/SUCCEEDED — 3 rows, 2 accepted, 0 duplicates, 1 rejected/);
    expect(result.stdout).toContain('line 4: occurredAt is not a valid date-time');
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM interactions WHERE source = 'cli'`);
    await client.end();
    expect(rows[0].n).toBe(2);
  });

  test('a file that cannot be read fails with the reason and exit code 1', () => {
    const result = rapport(['import', path.join(dir, 'missing.csv')], { DATABASE_URL: database.url });
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('FAILED');
    expect(result.stdout).toContain('cannot read');
  });
});

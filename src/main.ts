import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import { openDatabase, queueBackendConfig, resolveDatabase, startRapport, type RapportRuntime, type RoleOptions } from './app';
import { ConfigurationError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './infra/logger';
import { progressPrinter, seedAnchor, seedDemoData } from './seed/demo-data';
import { ApiKeyService } from './modules/access/api-key.service';
import { fail, RapportError } from './errors/catalog';
import { IMPORT_USAGE, runImportCommand } from './modules/connectors/import.command';
import { scaffoldConnector } from './modules/connectors/scaffold';
import { enqueueRecompute } from './modules/scores/scores.jobs';

const USAGE = `Usage: rapport <command> [options]

Commands:
  start      gateway and workers in one process (embedded Postgres unless DATABASE_URL is set)
  gateway    the GraphQL gateway only
  worker     the queue workers only
  migrate    apply pending database migrations and exit
  keys       API keys: keys create --name N --scopes a,b [--expires-at ISO] | keys list | keys revoke --id ID
  import     import interactions from a CSV or NDJSON file: import <file> [--map field=column …] (import --help)
  connector:new <id> [--push] [--pull]  scaffold a connector plugin in plugins/<id> (code, conformance test, README)
  seed       generate a deterministic demo data set
             --customers N (default 2000)  --interactions M (default 40000)  --seed S (default 1)
             --products P (default none): purchases and page views name one of P products (planted tastes)
             --until YYYY-MM-DD (the data set's last day; default today, UTC)

Environment: PORT, HOST, DATABASE_URL, REDIS_URL, RAPPORT_DATA_DIR, RAPPORT_PG_PORT, LOG_LEVEL (see README).`;

/** Segments created with the demo data set (templates of the segments module). */
const DEMO_SEGMENT_TEMPLATES = ['rfm-champions', 'rfm-at-risk', 'churn-risk-high'];

/** The demo data set `start` seeds into an empty embedded database. */
const DEMO = { customers: 2_000, interactions: 40_000, seed: 1 };

/** What every command gets: the parsed configuration, a logger and its own arguments. */
interface CommandInput {
  config: Config;
  logger: Logger;
  args: string[];
}

type Command = (input: CommandInput) => Promise<void>;

/** The commands, by name; `start`, `gateway` and `worker` differ only in the roles they run. */
const COMMANDS: Record<string, Command> = {
  start: ({ config, logger }) => run(config, logger, { gateway: true, worker: true }),
  gateway: ({ config, logger }) => run(config, logger, { gateway: true, worker: false }),
  worker: ({ config, logger }) => run(config, logger, { gateway: false, worker: true }),
  migrate: migrateCommand,
  keys: keysCommand,
  seed: seedCommand,
  import: importCommand,
  'connector:new': connectorNewCommand,
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === 'help') {
    console.log(USAGE);
    return;
  }
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { role: command });
  const handler = COMMANDS[command];
  if (!handler) {
    console.error(`rapport: unknown command "${command}"\n\n${USAGE}`);
    process.exit(2);
  }
  return handler({ config, logger, args });
}

/** The configuration, or exit 2 with the reason when the environment is invalid. */
function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      console.error(`rapport: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

async function migrateCommand({ config, logger }: CommandInput): Promise<void> {
  const db = await resolveDatabase(config, logger);
  const dataSource = await openDatabase(db.url, 'rapport-migrate');
  logger.info('migrations applied');
  await dataSource.destroy();
  await db.embedded?.stop();
}

const KEYS_USAGE = 'usage: rapport keys create --name N --scopes a,b [--expires-at ISO] | list | revoke --id ID';

async function keysCommand({ config, logger, args }: CommandInput): Promise<void> {
  const [action, ...flags] = args;
  const { values } = parseArgs({
    args: flags,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, 'expires-at': { type: 'string' }, id: { type: 'string' } },
  });
  const db = await resolveDatabase(config, logger);
  const dataSource = await openDatabase(db.url, 'rapport-keys');
  const keys = new ApiKeyService(dataSource);
  try {
    if (action === 'create') await createKey(keys, values);
    else if (action === 'list') await listKeys(keys);
    else if (action === 'revoke') await revokeKey(keys, values.id);
    else throw fail('VALIDATION_FAILED', { detail: KEYS_USAGE }, 'action');
  } catch (error) {
    if (!(error instanceof RapportError)) throw error;
    console.error(`rapport: ${error.message}`);
    process.exitCode = 2;
  } finally {
    await dataSource.destroy();
    await db.embedded?.stop();
  }
}

async function createKey(keys: ApiKeyService, values: { name?: string; scopes?: string; 'expires-at'?: string }): Promise<void> {
  if (!values.name || !values.scopes) throw fail('VALIDATION_FAILED', { detail: 'keys create needs --name and --scopes' }, 'name');
  const expiresAt = values['expires-at'] ? new Date(values['expires-at']) : null;
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw fail('VALIDATION_FAILED', { detail: '--expires-at must be an ISO date-time' }, 'expires-at');
  const created = await keys.create({ name: values.name, scopes: values.scopes.split(',').map((s) => s.trim()), expiresAt, createdBy: 'cli' });
  console.log(created.key);
  console.error(`created key ${created.apiKey.prefix} (${created.apiKey.scopes.join(', ')}); it is shown only this once`);
}

async function listKeys(keys: ApiKeyService): Promise<void> {
  for (const k of await keys.list()) {
    console.log(
      `${k.id}\t${k.prefix}\t${k.name}\t${k.scopes.join(',')}\t${k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt < new Date() ? 'expired' : 'active'}`,
    );
  }
}

async function revokeKey(keys: ApiKeyService, id: string | undefined): Promise<void> {
  if (!id) throw fail('VALIDATION_FAILED', { detail: 'keys revoke needs --id' }, 'id');
  const revoked = await keys.revoke(id);
  console.log(`revoked key ${revoked.prefix}`);
}

async function seedCommand({ config, logger, args }: CommandInput): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      customers: { type: 'string' },
      interactions: { type: 'string' },
      seed: { type: 'string' },
      until: { type: 'string' },
      products: { type: 'string' },
    },
  });
  const options = {
    customers: positiveInt('--customers', values.customers, DEMO.customers),
    interactions: positiveInt('--interactions', values.interactions, DEMO.interactions),
    seed: positiveInt('--seed', values.seed, DEMO.seed),
    until: dayFlag('--until', values.until) ?? seedAnchor(),
    products: positiveInt('--products', values.products, 0),
  };
  const db = await resolveDatabase(config, logger);
  const dataSource = await openDatabase(db.url, 'rapport-seed');
  await dataSource.destroy();
  const result = await seedDemoData(db.url, { ...options, onProgress: progressPrinter() });
  console.log(
    `seeded ${result.customers.toLocaleString('en-US')} customers, ${result.interactions.toLocaleString('en-US')} interactions, ` +
      `${result.identifiers.toLocaleString('en-US')} identifiers in ${result.seconds.toFixed(1)} s ` +
      `(${Math.round(result.interactions / result.seconds).toLocaleString('en-US')} interactions/s)`,
  );
  // Everything seeded follows from these options: printed so that a data set can be named and made again.
  const day = options.until.toISOString().slice(0, 10);
  console.log(
    `same data set again: rapport seed --customers ${options.customers} --interactions ${options.interactions} --seed ${options.seed} --until ${day}${options.products ? ` --products ${options.products}` : ''}`,
  );
  await db.embedded?.stop();
}

async function importCommand({ config, logger, args }: CommandInput): Promise<void> {
  if (args.length === 0 || args.includes('--help')) {
    console.log(IMPORT_USAGE);
    return;
  }
  const db = await resolveDatabase(config, logger);
  const dataSource = await openDatabase(db.url, 'rapport-import');
  let code: number;
  try {
    code = await runImportCommand(args, dataSource, logger);
  } finally {
    await dataSource.destroy();
    await db.embedded?.stop();
  }
  if (code !== 0) process.exit(code);
}

const CONNECTOR_NEW_USAGE = `usage: rapport connector:new <id> [--push] [--pull]

Scaffolds a connector plugin in plugins/<id> (RAPPORT_PLUGINS_DIR): its code, a test that
runs the conformance suite, and a README. <id> is a lowercase slug such as acme-helpdesk.

  --push   a signed webhook only
  --pull   a cursor-paged sync (with a credentials check) only
           (neither or both: the two)
  --help   this text`;

async function connectorNewCommand({ config, args }: CommandInput): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(CONNECTOR_NEW_USAGE);
    return;
  }
  const unknown = args.filter((arg) => arg.startsWith('-') && arg !== '--push' && arg !== '--pull');
  const ids = args.filter((arg) => !arg.startsWith('-'));
  if (unknown.length > 0 || ids.length !== 1) {
    console.error(unknown.length > 0 ? `rapport connector:new: unknown option ${unknown[0]}\n\n${CONNECTOR_NEW_USAGE}` : `rapport: ${CONNECTOR_NEW_USAGE}`);
    process.exit(2);
  }
  const push = args.includes('--push');
  const pull = args.includes('--pull');
  try {
    const result = scaffoldConnector(ids[0], config.pluginsDir, push || pull ? { push, pull } : { push: true, pull: true });
    console.log(
      `created ${path.relative(process.cwd(), result.directory)}/ (${result.files.map((f) => path.basename(f)).join(', ')})\nnext: npx jest ${path.relative(process.cwd(), result.directory)}`,
    );
  } catch (error) {
    console.error(`rapport connector:new: ${(error as Error).message}`);
    process.exit(2);
  }
}

/** The development admin key of an embedded data directory (created once, mode 0600). */
async function readOrCreateDevKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'dev-admin-key');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const key = `dev_${randomBytes(24).toString('base64url')}`;
  await writeFile(file, key + '\n', { mode: 0o600 });
  return key;
}

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`rapport: ${flag} must be a non-negative integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

/** A `YYYY-MM-DD` flag as the start of that UTC day; exits with 2 on anything else. */
function dayFlag(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  if (!day || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value) {
    console.error(`rapport: ${flag} must be a date as YYYY-MM-DD, got "${value}"`);
    process.exit(2);
  }
  return day;
}

async function run(config: Config, logger: Logger, roles: RoleOptions): Promise<void> {
  // Before anything starts: a signal during startup (the seed can take a while) stops cleanly once it is up.
  const signals = stopOnSignals(logger);
  const db = await resolveDatabase(config, logger);
  const dataSource = await openDatabase(db.url, roles.gateway ? 'rapport-gateway' : 'rapport-worker');
  const seeded = db.embedded && config.demoData && roles.worker ? await seedIfEmpty(dataSource, db.url, logger) : false;
  // Embedded (development) mode without a bootstrap key: generate one, keep it in the data directory, print it.
  let devKey: string | undefined;
  if (db.embedded && !config.auth.bootstrapAdminKey) {
    devKey = await readOrCreateDevKey(config.dataDir);
    config.auth.bootstrapAdminKey = devKey;
  }
  const runtime = await startRapport({ config, logger, dataSource, queue: queueBackendConfig(config, db.url), roles });
  if (seeded) await startDemo(runtime, logger);
  signals.ready(
    () => runtime.startDraining(),
    async () => {
      await runtime.stop();
      await dataSource.destroy();
      await db.embedded?.stop();
    },
  );
  // Printed only once a signal would stop Rapport cleanly: whoever waits for the URL may signal at once.
  if (runtime.url && !signals.stopping()) printWelcome(runtime.url, devKey);
}

/** Seeds the demo data set into an empty database; true when it did. */
async function seedIfEmpty(dataSource: DataSource, url: string, logger: Logger): Promise<boolean> {
  const [{ count }] = await dataSource.query('SELECT count(*)::int AS count FROM customers');
  if (count !== 0) return false;
  logger.info(DEMO, 'empty database: seeding the demo data set');
  const result = await seedDemoData(url, DEMO);
  logger.info(result, 'demo data seeded');
  return true;
}

/** The demo comes with scores and a few segments to explore; the workers compute them in the background. */
async function startDemo(runtime: RapportRuntime, logger: Logger): Promise<void> {
  await enqueueRecompute(runtime.services.queues, []);
  for (const key of DEMO_SEGMENT_TEMPLATES) {
    await runtime.services.segments.createFromTemplate(key).catch((error: unknown) => logger.warn({ err: error, key }, 'could not create a demo segment'));
  }
}

function printWelcome(url: string, devKey: string | undefined): void {
  console.log(`\n  Rapport is running. GraphiQL: ${url}`);
  console.log(`  Insights console: ${new URL('/console', url).href}\n`);
  if (!devKey) return;
  console.log(`  Development admin key: ${devKey}`);
  // The key is never served in a page: the developer pastes it into GraphiQL or the console's login.
  console.log(`  In GraphiQL, open the Headers tab under the query editor and paste: {"Authorization": "Bearer ${devKey}"}`);
  console.log(`  In the console, paste the key into its login form.`);
  console.log(
    `  Try: curl -s ${url} -H 'authorization: Bearer ${devKey}' -H 'content-type: application/json' -d '{"query":"{ customers(first: 3) { totalCount edges { node { displayName } } } }"}'\n`,
  );
}

/** How long a shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 30_000;

/**
 * Handles SIGINT and SIGTERM from the moment it is called. Once `ready` is
 * given the running server's `drain` and `stop`, a signal refuses new work at
 * once (`drain`, before anything is logged or awaited), then runs `stop` once
 * (at most SHUTDOWN_LIMIT_MS) and exits. A signal that arrives while Rapport
 * is still starting is remembered and acted on when `ready` is called, so
 * nothing started is left behind (the embedded Postgres above all).
 */
function stopOnSignals(logger: Logger): { ready: (drain: () => void, stop: () => Promise<void>) => void; stopping: () => boolean } {
  let requested: string | undefined;
  let server: { drain: () => void; stop: () => Promise<void> } | undefined;
  let stopping = false;
  const shutdown = async (signal: string, { drain, stop }: { drain: () => void; stop: () => Promise<void> }) => {
    if (stopping) return;
    stopping = true;
    drain();
    logger.info({ signal }, 'shutting down: refusing new requests, finishing those in flight and running jobs');
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; exiting`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    try {
      await stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  const onSignal = (signal: string) => {
    if (server) return void shutdown(signal, server);
    if (requested) return;
    requested = signal;
    logger.info({ signal }, 'still starting: stopping as soon as everything started is up');
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  return {
    ready(drain, stop) {
      server = { drain, stop };
      if (requested) void shutdown(requested, server);
    },
    stopping: () => stopping,
  };
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error('rapport: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

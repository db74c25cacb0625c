import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { openDatabase, queueBackendConfig, resolveDatabase, startRapport, type RoleOptions } from './app';
import { ConfigurationError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './infra/logger';
import { progressPrinter, seedDemoData } from './seed/demo-data';

const USAGE = `Usage: rapport <command> [options]

Commands:
  start      gateway and workers in one process (embedded Postgres unless DATABASE_URL is set)
  gateway    the GraphQL gateway only
  worker     the queue workers only
  migrate    apply pending database migrations and exit
  seed       generate a deterministic demo data set
             --customers N (default 2000)  --interactions M (default 40000)  --seed S (default 1)

Environment: PORT, HOST, DATABASE_URL, REDIS_URL, RAPPORT_DATA_DIR, RAPPORT_PG_PORT, LOG_LEVEL (see README).`;

/** The demo data set `start` seeds into an empty embedded database. */
const DEMO = { customers: 2_000, interactions: 40_000, seed: 1 };

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    console.log(USAGE);
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      console.error(`rapport: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { role: command });

  switch (command) {
    case 'start':
      return run(config, logger, { gateway: true, worker: true });
    case 'gateway':
      return run(config, logger, { gateway: true, worker: false });
    case 'worker':
      return run(config, logger, { gateway: false, worker: true });
    case 'migrate': {
      const db = await resolveDatabase(config, logger);
      const dataSource = await openDatabase(db.url, 'rapport-migrate');
      logger.info('migrations applied');
      await dataSource.destroy();
      await db.embedded?.stop();
      return;
    }
    case 'seed': {
      const { values } = parseArgs({
        args: rest,
        options: { customers: { type: 'string' }, interactions: { type: 'string' }, seed: { type: 'string' } },
      });
      const options = {
        customers: positiveInt('--customers', values.customers, DEMO.customers),
        interactions: positiveInt('--interactions', values.interactions, DEMO.interactions),
        seed: positiveInt('--seed', values.seed, DEMO.seed),
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
      await db.embedded?.stop();
      return;
    }
    default:
      console.error(`rapport: unknown command "${command}"\n\n${USAGE}`);
      process.exit(2);
  }
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

async function run(config: Config, logger: Logger, roles: RoleOptions): Promise<void> {
  const db = await resolveDatabase(config, logger);
  const dataSource = await openDatabase(db.url, roles.gateway ? 'rapport-gateway' : 'rapport-worker');

  if (db.embedded && config.demoData && roles.worker) {
    const [{ count }] = await dataSource.query('SELECT count(*)::int AS count FROM customers');
    if (count === 0) {
      logger.info(DEMO, 'empty database: seeding the demo data set');
      const result = await seedDemoData(db.url, DEMO);
      logger.info(result, 'demo data seeded');
    }
  }

  const runtime = await startRapport({ config, logger, dataSource, queue: queueBackendConfig(config, db.url), roles });
  if (runtime.url) {
    console.log(`\n  Rapport is running. GraphiQL: ${runtime.url}\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing running jobs');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 30 s; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await runtime.stop();
      await dataSource.destroy();
      await db.embedded?.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error('rapport: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

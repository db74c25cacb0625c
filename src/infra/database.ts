import { AsyncLocalStorage } from 'node:async_hooks';
import type { PoolClient } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { migrations } from '../../migrations';

/** Options for {@link createDataSource}. */
export interface DataSourceOptions {
  url: string;
  /** Pool size per process. @defaultValue 10 */
  poolSize?: number;
  /** Called with every SQL statement (tests count statements with it). */
  onQuery?: (sql: string) => void;
  applicationName?: string;
}

/**
 * The TypeORM DataSource over `pg`: the connection pool, the migration runner
 * and the transactions ({@link inTransaction}). It maps no entities: the
 * migrations are the one description of the schema, and services read and
 * write with SQL into row types of their own (docs/architecture.md, "Data
 * access").
 */
export function createDataSource(options: DataSourceOptions): DataSource {
  const { onQuery } = options;
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: [],
    migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'typeorm_migrations',
    poolSize: options.poolSize ?? 10,
    applicationName: options.applicationName ?? 'rapport',
    logging: onQuery ? ['query'] : false,
    logger: onQuery
      ? {
          logQuery: (query: string) => onQuery(query),
          logQueryError: () => undefined,
          logQuerySlow: () => undefined,
          logSchemaBuild: () => undefined,
          logMigration: () => undefined,
          log: () => undefined,
        }
      : undefined,
  });
}

/** The oldest PostgreSQL Rapport runs on: score writes read the replaced row through `RETURNING old.…` (new in 18). */
export const MIN_POSTGRES_VERSION_NUM = 180000;

/**
 * Connects, checks the server is PostgreSQL 18 or later, and applies pending
 * migrations (serialised across processes by TypeORM's lock).
 *
 * @throws Error naming DATABASE_URL's server version when it is too old.
 */
export async function connectAndMigrate(dataSource: DataSource): Promise<string[]> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  const [{ server_version_num: versionNum, server_version: version }] = await dataSource.query(
    `SELECT current_setting('server_version_num')::int AS server_version_num, current_setting('server_version') AS server_version`,
  );
  if (versionNum < MIN_POSTGRES_VERSION_NUM) {
    throw new Error(`Rapport needs PostgreSQL 18 or later; the database at DATABASE_URL runs PostgreSQL ${version}`);
  }
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  return applied.map((m) => m.name);
}

/**
 * One connection taken from the DataSource's pool and held until
 * {@link PooledSession.release}: its TypeORM `manager` for the services'
 * ordinary queries, and its `pg` `client` for what TypeORM has no API for
 * (`COPY … FROM STDIN` through pg-copy-streams, several statements sent as
 * one simple query with every result). Both run on the same session, so
 * temporary tables, settings and a transaction begun on one are seen by the
 * other.
 */
export interface PooledSession {
  manager: EntityManager;
  client: PoolClient;
  /** Returns the connection to the pool. */
  release(): Promise<void>;
}

/**
 * Takes a connection from the pool for {@link PooledSession} work (the file
 * import's COPY lanes). The one place that knows TypeORM's Postgres query
 * runner hands out the pool's `pg` client: `QueryRunner.connect()` resolves
 * to the driver's connection, which the runner's public type leaves `any`.
 */
export async function openPooledSession(dataSource: DataSource): Promise<PooledSession> {
  const runner = dataSource.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  return { manager: runner.manager, client, release: () => runner.release() };
}

/**
 * Work run at the end of every transaction opened by {@link inTransaction}, in
 * that transaction (the audit log uses it to commit its entry with the change).
 */
const transactionHooks: TransactionHook[] = [];

/** Adds a hook to every transaction of this process; adding the same hook twice keeps one. */
export function addTransactionHook(hook: TransactionHook): void {
  if (!transactionHooks.includes(hook)) transactionHooks.push(hook);
}

export interface TransactionHook {
  /** Runs last inside the transaction. */
  beforeCommit(manager: EntityManager): Promise<void>;
  /** Runs once the transaction committed. */
  afterCommit(): void;
}

const ambientTransaction = new AsyncLocalStorage<{
  manager: EntityManager;
  attempt: number;
  /** Work to run once this attempt commits (see {@link afterCommit}). */
  committed: (() => Promise<void>)[];
}>();

/**
 * Runs `work` once the enclosing {@link inTransaction} has committed, and not
 * at all if it rolls back (a retried attempt drops what it queued). For work
 * that must see the change committed, such as a job that reads it. The
 * outermost inTransaction awaits it before returning; its failure is the
 * caller's, the change having committed.
 *
 * @throws Error when called outside inTransaction.
 */
export function afterCommit(work: () => Promise<void>): void {
  const current = ambientTransaction.getStore();
  if (!current) throw new Error('afterCommit is called inside inTransaction only');
  current.committed.push(work);
}

/** Whether the caller runs inside {@link inTransaction} (so {@link afterCommit} may be called). */
export function inAmbientTransaction(): boolean {
  return ambientTransaction.getStore() !== undefined;
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '23505']);

/**
 * Runs `work` in one transaction, retrying the whole of it when it lost a race
 * (serialization failure, deadlock, a unique key taken concurrently, or an
 * error the caller marks retryable). Work must therefore be free of side effects
 * outside the transaction.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager, attempt: number) => Promise<T>,
  { attempts = 8, isRetryable = (_e: unknown) => false }: { attempts?: number; isRetryable?: (error: unknown) => boolean } = {},
): Promise<T> {
  // Called inside another inTransaction: join it. The outermost one commits, retries and runs the hooks,
  // so work composed of several services (a connector batch: customers, then interactions) is all or nothing.
  const outer = ambientTransaction.getStore();
  if (outer) return work(outer.manager, outer.attempt);
  for (let attempt = 1; ; attempt++) {
    const committed: (() => Promise<void>)[] = [];
    let result: T;
    try {
      result = await dataSource.transaction(async (manager) => {
        const value = await ambientTransaction.run({ manager, attempt, committed }, () => work(manager, attempt));
        for (const hook of transactionHooks) await hook.beforeCommit(manager);
        return value;
      });
      for (const hook of transactionHooks) hook.afterCommit();
    } catch (error) {
      const sqlState = (error as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (error as { code?: string }).code;
      const retryable = isRetryable(error) || (typeof sqlState === 'string' && RETRYABLE_SQLSTATES.has(sqlState));
      if (!retryable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
      continue;
    }
    // Outside the retry: the change has committed and must not run again.
    for (const task of committed) await task();
    return result;
  }
}

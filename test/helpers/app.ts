import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { openDatabase, startRapport, type RapportRuntime } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/infra/logger';
import type { QueueBackendConfig } from '../../src/infra/queue';
import { createHttpHandler, type HttpHandler } from '../../src/graphql/server';
import { createTestDatabase, testRedisUrl, type TestDatabase } from './database';

/** The bootstrap admin key every test app accepts; `app.graphql` sends it. */
export const TEST_ADMIN_KEY = 'test-bootstrap-admin-key-0123456789';

export interface TestAppOptions {
  /** Queue backend. @defaultValue 'postgres' */
  queue?: 'postgres' | 'redis' | QueueBackendConfig;
  /** Run the workers in-process. @defaultValue false */
  workers?: boolean;
  /** Also listen as a gateway on a free port (`runtime.url`), with WebSocket subscriptions. @defaultValue false */
  gateway?: boolean;
  /** Environment overrides for the config. */
  env?: Record<string, string>;
  /** Called with the services before workers start (subscriptions to domain events). */
  onServices?: (services: RapportRuntime['services']) => void;
  /** Run on this database instead of a new one (it is not dropped by `close`). */
  database?: TestDatabase;
}

/** A Rapport instance on its own database, called through the real HTTP handler with supertest. */
export interface TestApp {
  runtime: RapportRuntime;
  handler: HttpHandler;
  dataSource: DataSource;
  database: TestDatabase;
  config: Config;
  /** Every SQL statement the app ran since the last `resetStatements()`. */
  statements: string[];
  resetStatements(): void;
  /** `Authorization` header value of the admin key. */
  auth: string;
  /** Posts a typed operation to /graphql as admin and returns the parsed body. */
  graphql<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<{ data?: R; errors?: GraphQLErrorBody[] }>;
  /** Posts a typed operation with another credential (or none). */
  graphqlAs<R, V>(
    bearer: string | undefined,
    document: TypedDocumentNode<R, V>,
    variables?: V,
  ): Promise<{ status: number; data?: R; errors?: GraphQLErrorBody[] }>;
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const statements: string[] = [];
  const dataSource = await openDatabase(database.url, 'rapport-test', (sql) => statements.push(sql));
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: database.url,
    RAPPORT_BOOTSTRAP_ADMIN_KEY: TEST_ADMIN_KEY,
    RAPPORT_RATE_LIMIT_PER_MINUTE: '1000000',
    RAPPORT_RATE_LIMIT_BURST: '100000',
    ...options.env,
  });
  const logger = createLogger(config.logLevel);
  const queue: QueueBackendConfig =
    typeof options.queue === 'object'
      ? options.queue
      : options.queue === 'redis'
        ? { kind: 'redis', url: testRedisUrl(), prefix: database.name }
        : { kind: 'postgres', connectionString: database.url };
  const runtime = await startRapport({
    config,
    logger,
    dataSource,
    queue,
    roles: { gateway: options.gateway ?? false, worker: options.workers ?? false },
    port: 0,
    onServices: options.onServices,
  });
  const handler = createHttpHandler(runtime.services);
  statements.length = 0;

  return {
    runtime,
    handler,
    dataSource,
    database,
    config,
    statements,
    resetStatements: () => {
      statements.length = 0;
    },
    auth: `Bearer ${TEST_ADMIN_KEY}`,
    async graphql(document, variables) {
      const response = await request(handler)
        .post('/graphql')
        .set('content-type', 'application/json')
        .set('authorization', `Bearer ${TEST_ADMIN_KEY}`)
        .send({ query: print(document), variables });
      return response.body;
    },
    async graphqlAs(bearer, document, variables) {
      const req = request(handler).post('/graphql').set('content-type', 'application/json');
      if (bearer) req.set('authorization', `Bearer ${bearer}`);
      const response = await req.send({ query: print(document), variables });
      return { status: response.status, ...response.body };
    },
    sql: (text, params) => dataSource.query(text, params),
    async close() {
      await runtime.stop();
      await dataSource.destroy();
      if (!options.database) await database.drop();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, { timeoutMs = 15_000, intervalMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

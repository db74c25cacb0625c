import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import request from 'supertest';
import { createHttpHandler, type HttpHandler } from '../../src/graphql/server';
import { ConnectorRunDocument, RunConnectionDocument, type ConnectorRunQuery } from '../generated/graphql';
import { eventually, startTestApp, type GraphQLErrorBody, type TestApp, type TestAppOptions } from './app';

/** A test app whose gateway mounts the connector routes (/hooks, /imports), called as the bootstrap admin. */
export interface ConnectorTestApp {
  app: TestApp;
  handler: HttpHandler;
  adminKey: string;
  gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<{ data?: R; errors?: GraphQLErrorBody[] }>;
  /** Starts a run of the connection (runConnection) and waits for it to finish; returns the finished run. */
  runToEnd(connectionId: string, timeoutMs?: number): Promise<ConnectorRunQuery['connectorRun'] & object>;
  close(): Promise<void>;
}

export const REPO_ROOT = path.join(__dirname, '../..');
export const FIXTURE_PLUGINS = path.join(__dirname, '../fixtures/plugins');

export async function startConnectorTestApp(options: TestAppOptions = {}): Promise<ConnectorTestApp> {
  const adminKey = `admin_${randomBytes(12).toString('hex')}`;
  const app = await startTestApp({
    ...options,
    env: {
      RAPPORT_PLUGINS_DIR: FIXTURE_PLUGINS,
      RAPPORT_CONNECTOR_PACKAGES: [path.join(REPO_ROOT, 'plugins/webhook'), path.join(REPO_ROOT, 'plugins/helpdesk')].join(','),
      RAPPORT_SECRET_KEY: randomBytes(32).toString('base64'),
      RAPPORT_BOOTSTRAP_ADMIN_KEY: adminKey,
      ...options.env,
    },
  });
  const handler = createHttpHandler(app.runtime.services, app.runtime.services.connectors.routes());
  const gql: ConnectorTestApp['gql'] = async (document, variables) => {
    const response = await request(handler)
      .post('/graphql')
      .set('authorization', `Bearer ${adminKey}`)
      .send({ query: print(document), variables });
    return response.body;
  };
  const runToEnd: ConnectorTestApp['runToEnd'] = async (connectionId, timeoutMs = 60_000) => {
    const started = await gql(RunConnectionDocument, { id: connectionId });
    expect(started.errors).toBeUndefined();
    const runId = started.data?.runConnection.id;
    if (!runId) throw new Error('runConnection answered no run');
    return eventually(
      async () => {
        const run = (await gql(ConnectorRunDocument, { id: runId })).data?.connectorRun;
        return run?.finishedAt ? run : undefined;
      },
      { timeoutMs },
    );
  };
  return { app, handler, adminKey, gql, runToEnd, close: () => app.close() };
}

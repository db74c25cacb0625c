import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import request from 'supertest';
import { createHttpHandler, type HttpHandler } from '../../src/graphql/server';
import { startTestApp, type GraphQLErrorBody, type TestApp, type TestAppOptions } from './app';

/** A test app whose gateway mounts the connector routes (/hooks, /imports), called as the bootstrap admin. */
export interface ConnectorTestApp {
  app: TestApp;
  handler: HttpHandler;
  adminKey: string;
  gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<{ data?: R; errors?: GraphQLErrorBody[] }>;
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
  return {
    app,
    handler,
    adminKey,
    async gql(document, variables) {
      const response = await request(handler)
        .post('/graphql')
        .set('authorization', `Bearer ${adminKey}`)
        .send({ query: print(document), variables });
      return response.body;
    },
    close: () => app.close(),
  };
}

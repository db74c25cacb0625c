import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookRequest, runConformanceSuite } from 'rapport/connector-kit/testing';
import connector from './index';

/** A local stand-in for the source's API: bearer key, cursor pages. */
const EVENTS = ['e1', 'e2', 'e3', 'e4', 'e5'].map((id, i) => ({ id, type: 'page_view', email: `user${i % 2}@example.com`, occurred_at: `2024-05-0${i + 1}T10:00:00Z` }));
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== 'Bearer test-api-key') return send(401, { error: 'bad key' });
    if (url.pathname === '/me') return send(200, { ok: true });
    if (url.pathname !== '/events') return send(404, { error: 'not found' });
    const after = url.searchParams.get('after');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const start = after === null ? 0 : EVENTS.findIndex((event) => event.id === after) + 1;
    const events = EVENTS.slice(start, start + limit);
    send(200, { events, next_cursor: start + limit < EVENTS.length ? events[events.length - 1]!.id : null });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const config = { baseUrl: 'http://127.0.0.1:1', apiKey: 'test-api-key', signingSecret: 'whsec_test_secret', pageSize: 2 };
const liveConfig = () => ({ ...config, baseUrl });

runConformanceSuite(connector, {
  validConfigs: [config],
  invalidConfigs: [
    { config: { ...config, baseUrl: 'not a url' }, field: 'baseUrl' },
    { config: { ...config, apiKey: undefined }, field: 'apiKey' },
  ],
  secretFields: ['apiKey', 'signingSecret'],
  check: { config: liveConfig, rejectedConfig: () => ({ ...liveConfig(), apiKey: 'revoked-api-key' }) },
  webhookSamples: [
    {
      name: 'page view',
      request: () => createWebhookRequest({ body: EVENTS[0], sign: { secret: config.signingSecret } }),
      expectedInteractions: [{ type: 'page_view', externalId: 'e1' }],
    },
  ],
  webhookRejections: [{ name: 'an unsigned request', request: createWebhookRequest({ body: EVENTS[0] }) }],
  syncScenario: { config: liveConfig, expectedExternalIds: EVENTS.map((event) => event.id) },
});

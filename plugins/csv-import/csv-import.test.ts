import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestContext, runConformanceSuite } from '@rapport/connector-kit/testing';
import csvImport, { parseCsv, type CsvImportState } from './index';

let csv = [
  'order_id,email,ordered_at,total,currency,sku',
  'o1,ada@example.com,2024-05-01T10:00:00Z,19.90,EUR,A',
  'o2,grace@example.com,2024-05-02T10:00:00Z,5,EUR,"B,2"',
  'o3,ada@example.com,2024-05-03T10:00:00Z,7.5,EUR,C',
].join('\n');
let etag = '"v1"';
let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.headers.authorization !== 'Bearer drop-token-1') {
      response.writeHead(401).end();
      return;
    }
    if (request.url?.startsWith('/exports/status.json')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","dsn":"postgres://rapport:hunter2@db"}');
      return;
    }
    if (request.url?.startsWith('/exports/gone.csv')) {
      response.writeHead(410, { 'content-type': 'text/plain' }).end('gone: postgres://rapport:hunter2@db');
      return;
    }
    if (request.url !== '/exports/orders.csv') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/csv', etag });
    response.end(request.method === 'HEAD' ? undefined : csv);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exports/orders.csv`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const mapping = { email: 'email', externalId: 'order_id', occurredAt: 'ordered_at', value: 'total', currency: 'currency', properties: ['sku'] };
const staticConfig = {
  url: 'http://127.0.0.1:1/x.csv',
  authorization: 'Bearer drop-token-1',
  channel: 'payment',
  typeValue: 'purchase',
  rowsPerRun: 2,
  mapping,
};
const liveConfig = () => ({ ...staticConfig, url });

/** The file server listens on loopback, which ctx.http refuses unless the test allowlists it. */
const egress = { allowedHosts: ['127.0.0.1'] };

runConformanceSuite(csvImport, {
  egress,
  validConfigs: [staticConfig],
  invalidConfigs: [
    { config: { ...staticConfig, url: 'nope' }, field: 'url' },
    { config: { ...staticConfig, mapping: { email: 'email' } }, field: 'mapping.externalId' },
    { config: { ...staticConfig, channel: 'Not A Name' }, field: 'channel' },
  ],
  secretFields: ['authorization'],
  check: { config: liveConfig, rejectedConfig: () => ({ ...liveConfig(), url: url.replace('orders', 'missing') }) },
  syncScenario: { config: liveConfig, expectedExternalIds: ['o1', 'o2', 'o3'] },
});

describe('csv-import', () => {
  test('parses quoted fields with commas, doubled quotes and line breaks', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi""\nthere"\n\n1,2')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"\nthere'],
      ['1', '2'],
    ]);
  });

  test('errors never quote what the URL served, nor the query string of a signed link', async () => {
    for (const file of ['status.json?signature=sig-123', 'gone.csv?signature=sig-123']) {
      const config = csvImport.config.parse({ ...liveConfig(), url: url.replace('orders.csv', file) });
      const ctx = createTestContext<typeof config, CsvImportState>({ config, egress });
      const error = await csvImport.sync!(ctx, undefined).then(
        () => undefined,
        (thrown: unknown) => thrown as Error & { bodySnippet?: string },
      );
      expect(error).toMatchObject({ code: file.startsWith('status') ? 'CONNECTOR_CONFIG' : 'CONNECTOR_HTTP_STATUS' });
      expect(`${error!.message} ${error!.bodySnippet ?? ''}`).not.toMatch(/hunter2|sig-123/);
    }
  });

  test('a new version of the file starts from the top', async () => {
    const config = csvImport.config.parse(liveConfig());
    const ctx = createTestContext<typeof config, CsvImportState>({ config, state: { version: '"v1"', rowsDone: 3 }, egress });
    expect((await csvImport.sync!(ctx, ctx.state)).batch?.interactions).toEqual([]);
    etag = '"v2"';
    csv += '\no4,ada@example.com,2024-05-04T10:00:00Z,1,EUR,D';
    const next = await csvImport.sync!(ctx, ctx.state);
    expect(next.batch!.interactions!.map((i) => i.externalId)).toEqual(['o1', 'o2']);
    expect(next).toMatchObject({ nextState: { version: '"v2"', rowsDone: 2 }, hasMore: true });
  });
});

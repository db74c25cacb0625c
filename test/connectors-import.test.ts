import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { csvRecords } from '../src/modules/connectors/csv';
import { ConnectorRunDocument } from './generated/graphql';
import { eventually } from './helpers/app';
import { startConnectorTestApp, type ConnectorTestApp } from './helpers/connectors';

let t: ConnectorTestApp;
const dir = mkdtempSync(path.join(tmpdir(), 'rapport-import-'));

beforeAll(async () => {
  t = await startConnectorTestApp({ workers: true, queue: 'redis', env: { RAPPORT_DATA_DIR: dir } });
});
afterAll(() => t.close());

function file(name: string, content: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

const importFile = (target: string, options: Parameters<ConnectorTestApp['app']['runtime']['services']['connectors']['imports']['importFile']>[1] = {}) =>
  t.app.runtime.services.connectors.imports.importFile(target, options);

describe('CSV parsing', () => {
  test('handles quotes, doubled quotes, commas and line breaks inside quotes, CRLF and blank lines, with line numbers', async () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n\r\n2,"two\nlines",z\n3,,';
    const chunks = (async function* () {
      // Split awkwardly so records straddle chunks.
      for (let i = 0; i < text.length; i += 5) yield text.slice(i, i + 5);
    })();
    const records = [];
    for await (const record of csvRecords(chunks)) records.push(record);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
      { line: 4, fields: ['2', 'two\nlines', 'z'] },
      { line: 6, fields: ['3', '', ''] },
    ]);
  });
});

describe('file import', () => {
  test('imports good rows, reports bad ones with line and reason, and is idempotent on a second import', async () => {
    const csv = file(
      'orders.csv',
      [
        'email,occurred_at,external_id,value,currency,sku',
        'ada@example.com,2024-05-01T10:00:00Z,o-1,19.90,eur,A1',
        'ADA@example.com ,2024-05-02T10:00:00Z,o-2,5,EUR,B2',
        ',2024-05-02T10:00:00Z,o-3,5,EUR,B2',
        'grace@example.com,not a date,o-4,5,EUR,B2',
        'grace@example.com,2024-05-03,o-5,lots,EUR,B2',
        'grace@example.com,2024-05-03,o-6,5,EUR',
        'grace@example.com,2024-05-04T08:00:00+02:00,o-7,12.5,USD,"C,3"',
        'ada@example.com,2024-05-01T10:00:00Z,o-1,19.90,eur,A1',
      ].join('\n') + '\n',
    );
    const summary = await importFile(csv, { channel: 'payment', type: 'purchase', source: 'shop-export' });
    expect(summary).toMatchObject({ status: 'SUCCEEDED', received: 8, accepted: 3, duplicates: 1, rejected: 4 });
    expect(summary.errors.map((e) => [e.line, e.message])).toEqual([
      [4, expect.stringContaining('no identifier')],
      [5, 'line 5: occurredAt is not a valid date-time'],
      [6, 'line 6: value must be a finite number below 1e14'],
      [7, expect.stringContaining('has 5 columns; the header has 6')],
    ]);
    const rows = await t.app.sql<{ external_id: string; value: string; currency: string; properties: Record<string, unknown>; customer: string }>(
      `SELECT i.external_id, i.value::text, i.currency, i.properties, ci.value AS customer
         FROM interactions i JOIN customer_identifiers ci ON ci.customer_id = i.customer_id AND ci.type = 'email'
        WHERE i.source = 'shop-export' ORDER BY i.external_id`,
    );
    expect(rows).toEqual([
      { external_id: 'o-1', value: '19.9000', currency: 'EUR', properties: { sku: 'A1' }, customer: 'ada@example.com' },
      { external_id: 'o-2', value: '5.0000', currency: 'EUR', properties: { sku: 'B2' }, customer: 'ada@example.com' },
      { external_id: 'o-7', value: '12.5000', currency: 'USD', properties: { sku: 'C,3' }, customer: 'grace@example.com' },
    ]);
    const [dirty] = await t.app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM customers c JOIN customer_identifiers ci ON ci.customer_id = c.id WHERE ci.value IN ('ada@example.com', 'grace@example.com')`,
    );
    expect(dirty!.n).toBe(2);

    const again = await importFile(csv, { channel: 'payment', type: 'purchase', source: 'shop-export', batchRows: 2 });
    expect(again).toMatchObject({ accepted: 0, duplicates: 4, rejected: 4 });
    const { data } = await t.gql(ConnectorRunDocument, { id: Buffer.from(`ConnectorRun:${summary.runId}`).toString('base64') });
    expect(data!.connectorRun).toMatchObject({
      kind: 'IMPORT',
      status: 'SUCCEEDED',
      received: 8,
      accepted: 3,
      duplicates: 1,
      rejected: 4,
      details: { file: 'orders.csv', format: 'csv' },
    });
    expect(data!.connectorRun!.errors[0]).toMatchObject({ line: 4, code: 'INVALID_IDENTIFIER' });
  });

  test('batches merged on several connections at once create each new customer once and lose no row', async () => {
    // 40 new people, 15 rows each, shuffled into batches of 25: the lanes race to create the same customers.
    const rows = Array.from({ length: 600 }, (_, i) => `lane-${(i * 7) % 40}@example.com,2024-06-01T10:00:00Z,lane-row-${i},web,page_view`);
    const csv = file('lanes.csv', ['email,occurred_at,external_id,channel,type', ...rows].join('\n') + '\n');
    const summary = await importFile(csv, { batchRows: 25, connections: 3, source: 'lanes' });
    expect(summary).toMatchObject({ status: 'SUCCEEDED', received: 600, accepted: 600, duplicates: 0, rejected: 0 });
    const perCustomer = await t.app.sql<{ value: string; customers: number; interactions: number }>(
      `SELECT ci.value, count(DISTINCT ci.customer_id)::int AS customers, count(i.id)::int AS interactions
         FROM customer_identifiers ci JOIN interactions i ON i.customer_id = ci.customer_id AND i.source = 'lanes'
        WHERE ci.value LIKE 'lane-%' GROUP BY ci.value`,
    );
    expect(perCustomer).toHaveLength(40);
    for (const row of perCustomer) expect(row).toMatchObject({ customers: 1, interactions: 15 });
    // No customer was left behind by a lane that lost the race for an identifier.
    const [orphans] = await t.app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM customers c WHERE NOT EXISTS (SELECT 1 FROM customer_identifiers ci WHERE ci.customer_id = c.id)`,
    );
    expect(orphans!.n).toBe(0);
    // Every touched customer is marked for a refresh (unless a refresh already counted all 15 rows).
    const [unmarked] = await t.app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM customer_identifiers ci JOIN customers c ON c.id = ci.customer_id
         LEFT JOIN customer_stats s ON s.customer_id = c.id
        WHERE ci.value LIKE 'lane-%' AND c.dirty_since IS NULL AND s.interaction_count IS DISTINCT FROM 15`,
    );
    expect(unmarked!.n).toBe(0);
  });

  test('imports NDJSON with an explicit mapping of nested keys', async () => {
    const ndjson = file(
      'events.ndjson',
      [
        JSON.stringify({ evt: { id: 'n-1', at: '2024-06-01T00:00:00Z', kind: 'open' }, who: { crm: 'C-1' }, campaign: 'spring' }),
        '{not json',
        JSON.stringify({ evt: { id: 'n-2', at: '2024-06-02T00:00:00Z', kind: 'click' }, who: { crm: 'C-1' }, campaign: 'spring' }),
      ].join('\n'),
    );
    const summary = await importFile(ndjson, {
      mapping: { 'identifier.crm': 'who.crm', externalId: 'evt.id', occurredAt: 'evt.at', type: 'evt.kind', 'properties.campaign': 'campaign' },
      channel: 'email',
    });
    expect(summary).toMatchObject({ status: 'SUCCEEDED', received: 3, accepted: 2, rejected: 1 });
    expect(summary.errors[0]).toMatchObject({ line: 2, message: expect.stringContaining('not valid JSON') });
    const rows = await t.app.sql<{ type: string }>(
      `SELECT i.type FROM interactions i JOIN customer_identifiers ci ON ci.customer_id = i.customer_id WHERE ci.type = 'crm' AND ci.value = 'C-1' ORDER BY type`,
    );
    expect(rows.map((r) => r.type)).toEqual(['click', 'open']);
  });

  test('a file that cannot be read, or whose mapping names a missing column, fails the run with the reason and writes nothing', async () => {
    const before = (await t.app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM interactions`))[0]!.n;
    const missing = await importFile(path.join(dir, 'nope.csv'));
    expect(missing).toMatchObject({ status: 'FAILED', error: expect.stringContaining('cannot read') });
    const badMapping = await importFile(file('m.csv', 'mail,when,id\nada@example.com,2024-01-01,x-1\n'), {
      mapping: { email: 'mail', occurredAt: 'date', externalId: 'id' },
      channel: 'web',
      type: 'visit',
    });
    expect(badMapping).toMatchObject({ status: 'FAILED', error: expect.stringContaining('column "date" is not in the header') });
    const binary = await importFile(file('b.csv', 'email\u0000\u0001\u0002'));
    expect(binary).toMatchObject({ status: 'FAILED', error: expect.stringContaining('not text') });
    expect((await t.app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM interactions`))[0]!.n).toBe(before);
    const [run] = await t.app.sql<{ status: string; error: string }>(`SELECT status, error FROM connector_runs WHERE id = $1`, [missing.runId]);
    expect(run).toMatchObject({ status: 'FAILED' });
  });

  test('an upload to POST /imports is processed by the import.file job, with progress on the run', async () => {
    const body = [
      'email,occurred_at,external_id,channel,type',
      'up1@example.com,2024-07-01T00:00:00Z,u-1,web,visit',
      'up2@example.com,2024-07-01T00:00:00Z,u-2,web,visit',
    ].join('\n');
    const anonymous = await request(t.handler).post('/imports?fileName=visits.csv&source=upload').set('content-type', 'text/csv').send(body);
    expect(anonymous.status).toBe(401);
    const response = await request(t.handler)
      .post('/imports?fileName=visits.csv&source=upload')
      .set('authorization', `Bearer ${t.adminKey}`)
      .set('content-type', 'text/csv')
      .send(body);
    expect(response.status).toBe(202);
    const runGlobalId = Buffer.from(`ConnectorRun:${response.body.runId}`).toString('base64');
    const run = await eventually(async () => {
      const { data } = await t.gql(ConnectorRunDocument, { id: runGlobalId });
      return data!.connectorRun!.finishedAt ? data!.connectorRun! : undefined;
    });
    expect(run).toMatchObject({ kind: 'IMPORT', status: 'SUCCEEDED', received: 2, accepted: 2, details: { file: 'visits.csv', format: 'csv' } });
    expect(await t.app.sql(`SELECT 1 FROM interactions WHERE source = 'upload'`)).toHaveLength(2);
  });

  test('a multipart/form-data upload with options as fields is imported the same way', async () => {
    const body = ['Mail,At,Ref', 'mp1@example.com,2024-07-02T00:00:00Z,mp-1', 'mp2@example.com,2024-07-02T00:00:00Z,mp-2'].join('\n');
    const response = await request(t.handler)
      .post('/imports')
      .set('authorization', `Bearer ${t.adminKey}`)
      .field('source', 'multipart')
      .field('channel', 'web')
      .field('type', 'visit')
      .field('mapping', JSON.stringify({ email: 'Mail', occurredAt: 'At', externalId: 'Ref' }))
      .attach('file', Buffer.from(body), { filename: 'visits-export.csv', contentType: 'text/csv' });
    expect(response.status).toBe(202);
    const runGlobalId = Buffer.from(`ConnectorRun:${response.body.runId}`).toString('base64');
    const run = await eventually(async () => {
      const { data } = await t.gql(ConnectorRunDocument, { id: runGlobalId });
      return data!.connectorRun!.finishedAt ? data!.connectorRun! : undefined;
    });
    expect(run).toMatchObject({ status: 'SUCCEEDED', received: 2, accepted: 2, details: { file: 'visits-export.csv' } });
    expect(await t.app.sql(`SELECT 1 FROM interactions WHERE source = 'multipart' AND type = 'visit'`)).toHaveLength(2);
  });
});

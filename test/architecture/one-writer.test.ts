import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RecordInteractionsDocument, UpsertCustomersDocument, type InteractionInput } from '../generated/graphql';
import { commitBatch } from '../../src/modules/connectors/batch-commit';
import { ConnectorRunService } from '../../src/modules/connectors/connector-run.service';
import { FileImportService } from '../../src/modules/connectors/file-import.service';
import { createLogger } from '../../src/infra/logger';
import { startTestApp, type TestApp } from '../helpers/app';

/**
 * One table of rows fed through the three entry points of the interaction
 * writer (recordInteractions over GraphQL, a file import, a connector batch):
 * each entry point that can express a row accepts or rejects it alike, with
 * the same code and message.
 */
interface Case {
  name: string;
  email?: string;
  /** A customer by Rapport id instead of identifiers (only the API knows Rapport ids: files and connectors name customers by identifiers). */
  customerId?: string;
  /** Identifiers of two different existing customers (not expressible in a file import, which uses one identifier a row). */
  conflicting?: boolean;
  channel?: string;
  occurredAt?: string | null;
  value?: number;
  currency?: string;
  sentiment?: number;
  externalId?: string;
  /** Not expressible over GraphQL (the schema itself refuses the request). */
  noGraphql?: boolean;
  expected: { code: string; message?: string | RegExp } | 'ACCEPTED';
}

const FUTURE = new Date(Date.now() + 86_400_000).toISOString();
const CASES: Case[] = [
  { name: 'good', expected: 'ACCEPTED' },
  { name: 'good-with-value', value: 12.5, currency: 'eur', sentiment: 0.5, expected: 'ACCEPTED' },
  { name: 'bad-email', email: 'not-an-email', expected: { code: 'INVALID_IDENTIFIER' } },
  {
    name: 'bad-channel',
    channel: 'Bad Channel!',
    expected: { code: 'INVALID_FIELD', message: 'channel must start with a letter and contain only letters, digits, _ . : -' },
  },
  { name: 'future', occurredAt: FUTURE, expected: { code: 'INVALID_FIELD', message: `occurredAt ${FUTURE} is in the future` } },
  {
    name: 'before-1900',
    occurredAt: '1850-01-01T00:00:00.000Z',
    expected: { code: 'INVALID_FIELD', message: 'occurredAt 1850-01-01T00:00:00.000Z is before 1900' },
  },
  { name: 'missing-occurred-at', occurredAt: null, noGraphql: true, expected: { code: 'INVALID_FIELD', message: 'occurredAt is not a valid date-time' } },
  { name: 'bad-currency', currency: 'EURO', expected: { code: 'INVALID_FIELD', message: 'currency must be a three-letter ISO 4217 code' } },
  { name: 'bad-sentiment', sentiment: 3, expected: { code: 'INVALID_FIELD', message: 'sentiment must be between -1 and 1' } },
  // The gateway refuses NUL in a whole request (INVALID_TEXT) before any row is written.
  { name: 'nul-text', externalId: 'ext\u0000nul', noGraphql: true, expected: { code: 'INVALID_TEXT' } },
  { name: 'too-long', externalId: 'x'.repeat(300), expected: { code: 'INVALID_FIELD', message: 'externalId is longer than 256 characters' } },
  { name: 'unknown-customer', customerId: '987654321', expected: { code: 'CUSTOMER_NOT_FOUND' } },
  { name: 'conflicting-identifiers', conflicting: true, expected: { code: 'IDENTITY_CONFLICT' } },
];

type Outcome = { status: 'ACCEPTED' | 'REJECTED'; code?: string; message?: string };

let app: TestApp;
let dir: string;
beforeAll(async () => {
  app = await startTestApp();
  dir = mkdtempSync(path.join(tmpdir(), 'one-writer-'));
  const seeded = await app.graphql(UpsertCustomersDocument, {
    input: [{ identifiers: [{ type: 'email', value: 'first@example.com' }] }, { identifiers: [{ type: 'phone', value: '+14155550100' }] }],
  });
  expect(seeded.data?.upsertCustomers.created).toBe(2);
});
afterAll(() => app.close());

const emailOf = (c: Case, entry: string) => c.email ?? `${entry}.${c.name}@example.com`;
const externalIdOf = (c: Case, entry: string) => c.externalId ?? `${entry}-${c.name}`;
const customerOf = (c: Case, entry: string) =>
  c.customerId
    ? { id: c.customerId }
    : c.conflicting
      ? {
          identifiers: [
            { type: 'email', value: 'first@example.com' },
            { type: 'phone', value: '+14155550100' },
          ],
        }
      : { identifiers: [{ type: 'email', value: emailOf(c, entry) }] };

function record(c: Case, entry: string) {
  return {
    channel: c.channel ?? 'email',
    type: 'click',
    ...(c.occurredAt === null ? {} : { occurredAt: c.occurredAt ?? '2026-10-01T12:00:00.000Z' }),
    ...(c.value !== undefined ? { value: c.value } : {}),
    ...(c.currency !== undefined ? { currency: c.currency } : {}),
    ...(c.sentiment !== undefined ? { sentiment: c.sentiment } : {}),
    externalId: externalIdOf(c, entry),
  };
}

async function throughGraphql(cases: Case[]): Promise<Outcome[]> {
  const input = cases.map((c) => ({ customer: customerOf(c, 'api'), source: 'one-writer', ...record(c, 'api') }) as InteractionInput);
  const { data, errors } = await app.graphql(RecordInteractionsDocument, { input, mode: 'PER_ROW' });
  expect(errors).toBeUndefined();
  return data!.recordInteractions.results.map((r) =>
    r.status === 'ACCEPTED' ? { status: 'ACCEPTED' } : { status: 'REJECTED', code: r.errors[0]!.code, message: r.errors[0]!.message },
  );
}

async function throughFileImport(cases: Case[]): Promise<Outcome[]> {
  const file = path.join(dir, 'rows.ndjson');
  writeFileSync(file, cases.map((c) => JSON.stringify({ email: emailOf(c, 'file'), ...record(c, 'file') })).join('\n') + '\n');
  const summary = await app.runtime.services.connectors.imports.importFile(file, { format: 'ndjson', source: 'one-writer-file' });
  return cases.map((_, i) => {
    const error = summary.errors.find((e) => e.line === i + 1);
    return error ? { status: 'REJECTED', code: error.code, message: error.message.replace(/^line \d+: /, '') } : { status: 'ACCEPTED' };
  });
}

async function throughConnector(cases: Case[]): Promise<Outcome[]> {
  const { services } = app.runtime;
  const batch = { interactions: cases.map((c) => ({ customer: customerOf(c, 'hook'), ...record(c, 'hook') })) };
  const counts = await commitBatch(
    { ingest: services.ingest, customers: services.customers, privacy: services.privacy, dataSource: app.dataSource },
    batch,
    'one-writer-hook',
    'PER_ROW',
  );
  return cases.map((_, i) => {
    const error = counts.errors.find((e) => e.path === `interactions[${i}]` || e.path?.startsWith(`interactions[${i}].`));
    return error ? { status: 'REJECTED', code: error.code, message: error.message } : { status: 'ACCEPTED' };
  });
}

function expectCase(c: Case, outcome: Outcome, entry: string) {
  const context = `${entry}: ${c.name}`;
  if (c.expected === 'ACCEPTED') {
    expect({ context, ...outcome }).toEqual({ context, status: 'ACCEPTED' });
    return;
  }
  expect({ context, status: outcome.status, code: outcome.code }).toEqual({ context, status: 'REJECTED', code: c.expected.code });
  if (typeof c.expected.message === 'string') expect({ context, message: outcome.message }).toEqual({ context, message: c.expected.message });
  else if (c.expected.message) expect(outcome.message).toMatch(c.expected.message);
}

test('the API, a file import and a connector batch accept and reject the same rows with the same codes and messages', async () => {
  const api = CASES.filter((c) => !c.noGraphql);
  const file = CASES.filter((c) => !c.customerId && !c.conflicting);
  const hook = CASES.filter((c) => !c.customerId);
  const [viaApi, viaFile, viaHook] = [await throughGraphql(api), await throughFileImport(file), await throughConnector(hook)];
  api.forEach((c, i) => expectCase(c, viaApi[i]!, 'api'));
  file.forEach((c, i) => expectCase(c, viaFile[i]!, 'file'));
  hook.forEach((c, i) => expectCase(c, viaHook[i]!, 'connector'));
  // Where two entry points express a row, they answer alike, message included.
  for (const c of CASES) {
    const answers = [
      api.includes(c) ? viaApi[api.indexOf(c)] : undefined,
      file.includes(c) ? viaFile[file.indexOf(c)] : undefined,
      hook.includes(c) ? viaHook[hook.indexOf(c)] : undefined,
    ].filter((o): o is Outcome => o !== undefined);
    expect({ name: c.name, answers: answers.map((o) => ({ ...o, message: o.message?.replace(/^customer\./, '') })) }).toEqual({
      name: c.name,
      answers: answers.map(() => ({ ...answers[0], message: answers[0]!.message?.replace(/^customer\./, '') })),
    });
  }
});

test('a file import judges future dates by the injected clock, not the machine clock', async () => {
  const clock = () => new Date('2020-01-01T00:00:00Z');
  const imports = new FileImportService(app.dataSource, new ConnectorRunService(app.dataSource), createLogger('silent'), dir, { clock });
  const file = path.join(dir, 'clock.ndjson');
  writeFileSync(
    file,
    JSON.stringify({ email: 'clock@example.com', channel: 'email', type: 'click', occurredAt: '2021-06-01T00:00:00.000Z', externalId: 'clock-1' }) + '\n',
  );
  const summary = await imports.importFile(file, { format: 'ndjson', source: 'clock' });
  expect(summary.errors).toEqual([{ line: 1, code: 'INVALID_FIELD', message: 'line 1: occurredAt 2021-06-01T00:00:00.000Z is in the future' }]);
});

test('an erased identifier is refused alike by the API, a file import and a connector batch (one identity resolution)', async () => {
  const created = await app.graphql(UpsertCustomersDocument, { input: [{ identifiers: [{ type: 'email', value: 'gone@example.com' }] }] });
  const customerId = Buffer.from(created.data!.upsertCustomers.results[0]!.customer!.id, 'base64').toString('utf8').split(':')[1]!;
  await app.runtime.services.privacy.eraseCustomer(customerId);
  const c: Case = { name: 'erased', email: 'gone@example.com', expected: { code: 'IDENTIFIER_ERASED' } };
  const answers = [(await throughGraphql([c]))[0]!, (await throughFileImport([c]))[0]!, (await throughConnector([c]))[0]!];
  for (const [entry, outcome] of [
    ['api', answers[0]],
    ['file', answers[1]],
    ['connector', answers[2]],
  ] as const)
    expectCase(c, outcome!, entry);
  expect(answers.map((a) => a.message?.replace(/^customer\./, ''))).toEqual(answers.map(() => answers[0]!.message?.replace(/^customer\./, '')));
  expect(await app.sql(`SELECT 1 FROM customer_identifiers WHERE value = 'gone@example.com'`)).toHaveLength(0);
});

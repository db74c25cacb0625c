import { z } from 'zod';
import { ConfigError, HttpStatusError, MalformedPayloadError, defineConnector, endpoint, secret, type InteractionRecord } from '@rapport/connector-kit';

const columnName = z.string().min(1).max(200);

/** Which CSV column fills which interaction field. */
const mappingSchema = z.object({
  email: columnName.optional().describe('Column of the customer email'),
  phone: columnName.optional().describe('Column of the customer phone number'),
  customerId: columnName.optional().describe('Column of the customer id in the exporting system (identifier type: idType)'),
  externalId: columnName.describe('Column of the row’s stable id'),
  occurredAt: columnName.describe('Column of the event time (ISO 8601)'),
  type: columnName.optional().describe('Column of the interaction type; or set typeValue'),
  value: columnName.optional().describe('Column of a monetary value'),
  currency: columnName.optional().describe('Column of the ISO 4217 currency'),
  properties: z.array(columnName).default([]).describe('Columns copied into properties'),
});

/** Where the import is: which version of the file, and how many of its data rows are committed. */
export type CsvImportState = { version: string | null; rowsDone: number };

/** A URL for messages: origin and path, without the query string a signed link carries its signature in. */
function redacted(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Splits CSV text into records (RFC 4180: quotes, doubled quotes, line breaks inside quotes). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      if (record.length > 1 || record[0] !== '') records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/**
 * CSV import (pull): a CSV file published at a URL (an export drop, a signed
 * storage link) imported on a schedule with a declarative column mapping. The
 * cursor is the file's version (ETag or Last-Modified) and the rows already
 * committed, so a run that stops half-way resumes at the next row, and a new
 * version of the file is imported from the top (rows already stored are
 * absorbed by their externalId). For one-off or very large files use
 * `rapport import`, which streams through COPY.
 */
export default defineConnector({
  id: 'csv-import',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'CSV import',
  description: 'A CSV file at a URL, imported on a schedule with a declarative column mapping.',
  config: z.object({
    url: endpoint(z.url()).describe('Where the CSV file is published'),
    authorization: secret(z.string()).optional().describe('Authorization header value, if the URL needs one'),
    channel: z
      .string()
      .regex(/^[a-z][a-z0-9_.:-]*$/)
      .describe('Channel of every row'),
    typeValue: z
      .string()
      .regex(/^[a-z][a-z0-9_.:-]*$/)
      .optional()
      .describe('Type of every row when mapping.type is not set'),
    idType: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*$/)
      .default('external')
      .describe('Identifier type of mapping.customerId'),
    rowsPerRun: z.int().min(1).max(50_000).default(5_000).describe('Rows committed per sync call'),
    mapping: mappingSchema,
  }),
  http: { timeoutMs: 120_000, retry: { maxRetries: 3 } },

  check: async (ctx) => {
    const response = await ctx.http.request(ctx.config.url, {
      method: 'HEAD',
      headers: ctx.config.authorization ? { authorization: ctx.config.authorization } : {},
      signal: ctx.signal,
    });
    if (response.status === 404) throw new ConfigError('url', `nothing at ${redacted(ctx.config.url)}`);
    if (!response.ok) throw new HttpStatusError(redacted(ctx.config.url), response.status, '');
  },

  sync: async (ctx, state: Readonly<CsvImportState> | undefined) => {
    const response = await ctx.http.request(ctx.config.url, {
      headers: ctx.config.authorization ? { authorization: ctx.config.authorization } : {},
      signal: ctx.signal,
    });
    if (response.status === 404) throw new ConfigError('url', `nothing at ${redacted(ctx.config.url)}`);
    if (!response.ok) {
      await response.body?.cancel();
      // The body stays out of the error: errors end up on the run and the connection, readable by API callers.
      throw new HttpStatusError(redacted(ctx.config.url), response.status, '');
    }
    const version = response.headers.get('etag') ?? response.headers.get('last-modified');
    const [header, ...rows] = parseCsv(await response.text());
    if (!header) return { nextState: { version, rowsDone: 0 } };
    const { mapping } = ctx.config;
    const column = (name: string): number => {
      const index = header.indexOf(name);
      // The header's contents stay out of the message: whatever the URL serves must not come back through errors.
      if (index === -1) throw new ConfigError('mapping', `column "${name}" is not in the file's header line (${header.length} columns)`);
      return index;
    };
    const optionalColumn = (name: string | undefined) => (name === undefined ? undefined : column(name));
    const at = {
      email: optionalColumn(mapping.email),
      phone: optionalColumn(mapping.phone),
      customerId: optionalColumn(mapping.customerId),
      externalId: column(mapping.externalId),
      occurredAt: column(mapping.occurredAt),
      type: optionalColumn(mapping.type),
      value: optionalColumn(mapping.value),
      currency: optionalColumn(mapping.currency),
      properties: mapping.properties.map((name) => [name, column(name)] as const),
    };
    // A new version of the file starts from the top.
    const start = state && state.version === version ? state.rowsDone : 0;
    const slice = rows.slice(start, start + ctx.config.rowsPerRun);
    const interactions: InteractionRecord[] = [];
    slice.forEach((row, i) => {
      const cell = (index: number | undefined) => (index === undefined ? undefined : row[index]?.trim() || undefined);
      const line = start + i + 2;
      const email = cell(at.email);
      const phone = cell(at.phone);
      const customerId = cell(at.customerId);
      const identifiers = [
        ...(email ? [{ type: 'email', value: email }] : []),
        ...(phone ? [{ type: 'phone', value: phone }] : []),
        ...(customerId ? [{ type: ctx.config.idType, value: customerId }] : []),
      ];
      const type = cell(at.type)?.toLowerCase() ?? ctx.config.typeValue;
      const externalId = cell(at.externalId);
      const occurredAt = cell(at.occurredAt);
      if (identifiers.length === 0 || !externalId || !occurredAt || !type) {
        ctx.logger.warn('skipping an incomplete row', { line });
        return;
      }
      const value = cell(at.value);
      const currency = cell(at.currency);
      interactions.push({
        customer: { identifiers },
        channel: ctx.config.channel,
        type,
        occurredAt,
        ...(value !== undefined && Number.isFinite(Number(value)) ? { value: Number(value) } : {}),
        ...(currency ? { currency } : {}),
        ...(at.properties.length > 0 ? { properties: Object.fromEntries(at.properties.map(([name, index]) => [name, cell(index) ?? null])) } : {}),
        externalId,
      });
    });
    if (slice.length > 0 && interactions.length === 0)
      throw new MalformedPayloadError(`rows ${start + 2}–${start + slice.length + 1} are all incomplete; check the mapping`);
    const rowsDone = start + slice.length;
    return { batch: { interactions }, nextState: { version, rowsDone }, hasMore: rowsDone < rows.length };
  },
});

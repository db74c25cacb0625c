import {
  consentRecordSchema,
  customerRecordSchema,
  ingestSchemasFor,
  interactionRecordSchema,
  jsonProblem,
  isIdentifierProblem,
  normalizeIdentifier,
  toValidationIssues,
  type IdentifierOptions,
  type IngestBatch,
} from '@rapport/connector-kit';
import type { z } from 'zod';
import type { DataSource } from 'typeorm';
import type { PrivacyService } from '../privacy';
import { inTransaction } from '../../infra/database';
import { IdentityRaceError } from '../customers';
import type { BatchMode } from '../../errors/row-error';
import { ErrorCode } from '../../errors/catalog';
import type { CustomerRow, CustomerService } from '../customers';
import { interactionRow, validateInteraction, type IngestService, type InteractionRow } from '../interactions';
import type { RunError } from './connector-run.service';

/** Rows per call of the ingest services: inside both services' batch limits. */
export const COMMIT_CHUNK_ROWS = 1000;

/** What committing one batch did. */
export interface BatchCounts {
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: RunError[];
}

/** The ingest services a connector batch goes through (the same ones as upsertCustomers and recordInteractions). */
export interface IngestTargets {
  ingest: IngestService;
  customers: CustomerService;
  /** Consents of a batch go through the same service as setConsents. */
  privacy: PrivacyService;
  /** The database: a batch's customers, interactions and consents commit in one transaction. */
  dataSource: DataSource;
}

/** Rolls an ATOMIC batch back when a later part of it is rejected. */
class BatchRejected extends Error {
  constructor(readonly counts: BatchCounts & { committed: false }) {
    super('batch rejected');
  }
}

type ParsedCustomer = z.output<typeof customerRecordSchema>;
type ParsedInteraction = z.output<typeof interactionRecordSchema>;
type ParsedConsent = z.output<typeof consentRecordSchema>;

/**
 * Validates every record of a batch on its own, so one bad row never hides the
 * others. Identifiers are normalised with `options` (the connection's default
 * phone country), by the kit's code that the test context runs too.
 */
export function validateBatchRows(
  batch: unknown,
  options: IdentifierOptions = {},
): {
  customers: { index: number; row: ParsedCustomer }[];
  interactions: { index: number; row: ParsedInteraction }[];
  consents: { index: number; row: ParsedConsent }[];
  errors: RunError[];
} {
  const errors: RunError[] = [];
  const customers: { index: number; row: ParsedCustomer }[] = [];
  const interactions: { index: number; row: ParsedInteraction }[] = [];
  const consents: { index: number; row: ParsedConsent }[] = [];
  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
    errors.push({ path: '', code: ErrorCode.INVALID_FIELD, message: 'a batch must be an object with customers, interactions and/or consents' });
    return { customers, interactions, consents, errors };
  }
  const record = batch as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'customers' && key !== 'interactions' && key !== 'consents') {
      errors.push({ path: key, code: ErrorCode.INVALID_FIELD, message: `unknown key "${key}"; a batch has customers, interactions and consents` });
    }
  }
  const each = <T>(key: 'customers' | 'interactions' | 'consents', schema: z.ZodType<T>, into: { index: number; row: T }[]) => {
    const list = record[key];
    if (list === undefined) return;
    if (!Array.isArray(list)) {
      errors.push({ path: key, code: ErrorCode.INVALID_FIELD, message: `${key} must be an array` });
      return;
    }
    list.forEach((item, index) => {
      // Text and shape first, iteratively: the schemas' JSON checks recurse, and Postgres refuses NUL and lone surrogates.
      const unsafe = jsonProblem(item, `${key}[${index}]`);
      if (unsafe) {
        // The message names the field within the row, as the writer's own messages do; `path` locates the row.
        const message = unsafe.message.startsWith(`${key}[${index}].`) ? unsafe.message.slice(`${key}[${index}].`.length) : unsafe.message;
        errors.push({ path: unsafe.path, code: unsafe.kind === 'text' ? ErrorCode.INVALID_TEXT : ErrorCode.INPUT_TOO_COMPLEX, message });
        return;
      }
      const parsed = schema.safeParse(item);
      if (parsed.success) into.push({ index, row: parsed.data });
      else if (key === 'interactions' && writerErrors(item, `${key}[${index}]`, errors, options)) return;
      else {
        for (const issue of toValidationIssues(parsed.error.issues)) {
          errors.push({
            path: issue.path ? `${key}[${index}].${issue.path}` : `${key}[${index}]`,
            code: issue.code === ErrorCode.INVALID_IDENTIFIER ? ErrorCode.INVALID_IDENTIFIER : ErrorCode.INVALID_FIELD,
            message: issue.message,
          });
        }
      }
    });
  };
  const schemas = ingestSchemasFor(options);
  each('customers', schemas.customerRecord, customers);
  each('interactions', schemas.interactionRecord, interactions);
  each('consents', schemas.consentRecord, consents);
  return { customers, interactions, consents, errors };
}

/**
 * A connector interaction the kit's schema refused, checked by the
 * interaction writer's own validation: when that finds the problem, its codes
 * and messages are reported (the same as the API's and file import's); shape
 * problems only the schema knows (unknown keys, wrong types) keep the
 * schema's. Returns whether the writer's errors were reported.
 */
function writerErrors(item: unknown, path: string, errors: RunError[], options: IdentifierOptions): boolean {
  const raw = item as Record<string, unknown>;
  const text = (value: unknown) => (value === undefined || value === null || typeof value === 'string' ? (value as string | null | undefined) : undefined);
  const number = (value: unknown) => (value === undefined || value === null || typeof value === 'number' ? (value as number | null | undefined) : undefined);
  if (typeof raw.customer !== 'object' || raw.customer === null) return false;
  const occurredAt = typeof raw.occurredAt === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw.occurredAt) ? new Date(raw.occurredAt) : undefined;
  const row = interactionRow(withNormalizedIdentifiers(raw.customer as InteractionRow['customer'], options), 'connector', {
    channel: text(raw.channel) as string,
    type: text(raw.type) as string,
    occurredAt: occurredAt as Date,
    value: number(raw.value),
    currency: text(raw.currency),
    direction: text(raw.direction) as InteractionRow['direction'],
    sentiment: number(raw.sentiment),
    properties: raw.properties,
    externalId: text(raw.externalId) as string,
  });
  let checked: ReturnType<typeof validateInteraction>;
  try {
    checked = validateInteraction(row, 0, new Date());
  } catch {
    return false;
  }
  if (!('errors' in checked)) return false;
  for (const error of checked.errors) errors.push({ path: error.field ? `${path}.${error.field}` : path, code: error.code, message: error.message });
  return true;
}

/** The customer of a refused interaction with the identifiers that normalise under `options` replaced by their normal form, so the writer (which reads no default country) judges the rest. */
function withNormalizedIdentifiers(customer: InteractionRow['customer'], options: IdentifierOptions): InteractionRow['customer'] {
  const identifiers = (customer as { identifiers?: unknown }).identifiers;
  if (options.defaultCountry === undefined || !Array.isArray(identifiers)) return customer;
  return {
    ...customer,
    identifiers: identifiers.map((identifier: unknown) => {
      const given = identifier as { type?: unknown; value?: unknown };
      if (typeof given?.type !== 'string' || typeof given.value !== 'string') return identifier;
      const normalized = normalizeIdentifier({ type: given.type, value: given.value }, options);
      return isIdentifierProblem(normalized) ? identifier : normalized;
    }),
  } as InteractionRow['customer'];
}

/** How many rows a batch holds, valid or not. */
export function batchSize(batch: unknown): number {
  if (typeof batch !== 'object' || batch === null) return 0;
  const { customers, interactions, consents } = batch as IngestBatch;
  return (
    (Array.isArray(customers) ? customers.length : 0) +
    (Array.isArray(interactions) ? interactions.length : 0) +
    (Array.isArray(consents) ? consents.length : 0)
  );
}

/**
 * Commits a connector batch through the ingest services, in one transaction:
 * customers first (so their profiles exist before interactions resolve them),
 * then interactions with `source` set by the host. PER_ROW keeps every valid
 * row; ATOMIC writes nothing — customers included — when any row is invalid.
 */
export async function commitBatch(
  targets: IngestTargets,
  batch: unknown,
  source: string,
  mode: BatchMode,
  options: IdentifierOptions = {},
): Promise<BatchCounts & { committed: boolean }> {
  try {
    return await inTransaction(targets.dataSource, () => commitInTransaction(targets, batch, source, mode, options), {
      isRetryable: (e) => e instanceof IdentityRaceError,
    });
  } catch (error) {
    if (error instanceof BatchRejected) return error.counts;
    throw error;
  }
}

async function commitInTransaction(
  targets: IngestTargets,
  batch: unknown,
  source: string,
  mode: BatchMode,
  options: IdentifierOptions,
): Promise<BatchCounts & { committed: boolean }> {
  const checked = validateBatchRows(batch, options);
  const counts: BatchCounts = { received: batchSize(batch), accepted: 0, duplicates: 0, rejected: 0, errors: [...checked.errors] };
  const rejectedRows = new Set(checked.errors.map((error) => /^(\w+\[\d+\])/.exec(error.path ?? '')?.[1]).filter(Boolean));
  counts.rejected = rejectedRows.size;
  if (mode === 'ATOMIC' && checked.errors.length > 0) return { ...counts, committed: false };

  const customerRows: CustomerRow[] = checked.customers.map(({ row }) => ({
    identifiers: row.identifiers,
    kind: row.kind,
    displayName: row.displayName,
    traits: row.traits,
    lifecycleStage: row.lifecycleStage,
    owner: row.owner,
    organization: row.organization ? { identifiers: row.organization.identifiers } : undefined,
    unverified: row.unverified,
  }));
  for (let start = 0; start < customerRows.length; start += COMMIT_CHUNK_ROWS) {
    const result = await targets.customers.upsertCustomers(customerRows.slice(start, start + COMMIT_CHUNK_ROWS), mode);
    counts.accepted += result.created + result.updated;
    for (const row of result.results) {
      if (row.status !== 'REJECTED') continue;
      if (!result.committed && row.errors.every((e) => e.code === ErrorCode.BATCH_ABORTED)) continue;
      counts.rejected++;
      const index = checked.customers[start + row.index].index;
      for (const error of row.errors)
        counts.errors.push({ path: `customers[${index}]${error.field ? `.${error.field}` : ''}`, code: error.code, message: error.message });
    }
    if (!result.committed) throw new BatchRejected({ ...counts, accepted: 0, committed: false });
  }

  const interactionRows: InteractionRow[] = checked.interactions.map(({ row }) =>
    interactionRow({ identifiers: row.customer.identifiers, unverified: row.customer.unverified }, source, row),
  );
  for (let start = 0; start < interactionRows.length; start += COMMIT_CHUNK_ROWS) {
    const result = await targets.ingest.recordInteractions(interactionRows.slice(start, start + COMMIT_CHUNK_ROWS), mode);
    for (const row of result.results) {
      if (row.status === 'ACCEPTED') counts.accepted++;
      else if (row.status === 'DUPLICATE') counts.duplicates++;
      else {
        if (!result.committed && row.errors.every((e) => e.code === ErrorCode.BATCH_ABORTED)) continue;
        counts.rejected++;
        const index = checked.interactions[start + row.index].index;
        for (const error of row.errors)
          counts.errors.push({ path: `interactions[${index}]${error.field ? `.${error.field}` : ''}`, code: error.code, message: error.message });
      }
    }
    if (!result.committed) throw new BatchRejected({ ...counts, accepted: 0, duplicates: 0, committed: false });
  }

  if (checked.consents.length > 0) {
    // After customers, so a batch can create a customer and record its consent together.
    const result = await targets.privacy.setConsents(
      checked.consents.map(({ row }) => ({
        customer: { identifiers: row.customer.identifiers, unverified: row.customer.unverified },
        purpose: row.purpose,
        channel: row.channel,
        status: row.status,
        source,
        recordedAt: row.recordedAt,
      })),
      mode,
    );
    result.results.forEach((row, i) => {
      if (row.status === 'ACCEPTED') {
        counts.accepted++;
        return;
      }
      if (!result.committed && row.errors.every((e) => e.code === ErrorCode.BATCH_ABORTED)) return;
      counts.rejected++;
      const index = checked.consents[i].index;
      for (const error of row.errors)
        counts.errors.push({ path: `consents[${index}]${error.field ? `.${error.field}` : ''}`, code: error.code as ErrorCode, message: error.message });
    });
    if (!result.committed) throw new BatchRejected({ ...counts, accepted: 0, duplicates: 0, committed: false });
  }
  return { ...counts, committed: true };
}

import { ErrorCode } from '../../errors/catalog';
import { checkJsonObject, checkText, RowProblems, type RowError } from '../../errors/row-error';
import { toCustomerDemand, type CustomerLocator as CustomerRef } from '../customers';
import type { CustomerDemand, NewCustomerProfile } from '../customers';

export { TRANSACTION_TYPES } from '../customers';

/** Which way an interaction went: the values of `interactions.direction` (its check constraint in migrations). */
export const DIRECTIONS = ['INBOUND', 'OUTBOUND'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** One interaction as the ingest API receives it. */
export interface InteractionRow {
  customer: CustomerRef;
  /** Profile used when the customer does not exist yet. */
  customerProfile?: NewCustomerProfile | null;
  channel: string;
  type: string;
  occurredAt: Date;
  value?: number | null;
  currency?: string | null;
  direction?: Direction | null;
  sentiment?: number | null;
  properties?: Record<string, unknown> | null;
  source: string;
  externalId: string;
}

/**
 * A row whose required text fields may be missing: a file import reads them
 * from columns that can be empty. {@link validateInteraction} reports a
 * missing one as required.
 */
export type UncheckedInteractionRow = Omit<InteractionRow, 'channel' | 'type' | 'source' | 'externalId'> &
  Partial<Pick<InteractionRow, 'channel' | 'type' | 'source' | 'externalId'>>;

/** Limits of the ingest API. */
export const INGEST_LIMITS = {
  maxInteractionsPerBatch: 5000,
  maxNameLength: 64,
  maxSourceLength: 128,
  maxExternalIdLength: 256,
  maxPropertiesBytes: 16 * 1024,
  /** Clocks disagree; an event up to this far in the future is accepted. */
  maxFutureSkewMs: 5 * 60 * 1000,
  earliestOccurredAt: new Date('1900-01-01T00:00:00Z'),
} as const;

const NAME_PATTERN = /^[a-z][a-z0-9_.:-]*$/;

/** A row that passed {@link validateInteraction}: trimmed, normalised, with its customer demand. */
export interface ValidRow {
  index: number;
  demand: CustomerDemand;
  channel: string;
  type: string;
  occurredAt: Date;
  value: number | null;
  currency: string | null;
  direction: Direction | null;
  sentiment: number | null;
  properties: Record<string, unknown>;
  source: string;
  externalId: string;
  /** `source` NUL `externalId`: the idempotency key. */
  key: string;
}

/**
 * The one validation of an interaction row, for every entry point (the API,
 * connector batches and file imports): the same checks, codes and messages.
 * `now` is the writer's clock (future dates beyond the skew are refused).
 */
export function validateInteraction(row: UncheckedInteractionRow, index: number, now: Date): ValidRow | { errors: RowError[] } {
  const p = new RowProblems();
  const code = ErrorCode.INVALID_FIELD;
  const channel = checkName(p, 'channel', row.channel);
  const type = checkName(p, 'type', row.type);
  const source = checkText(p, code, 'source', row.source, { max: INGEST_LIMITS.maxSourceLength, required: true });
  const externalId = checkText(p, code, 'externalId', row.externalId, { max: INGEST_LIMITS.maxExternalIdLength, required: true });

  const occurredAt = row.occurredAt;
  if (!(occurredAt instanceof Date) || Number.isNaN(occurredAt.getTime())) {
    p.add(code, 'occurredAt', 'occurredAt is not a valid date-time');
  } else if (occurredAt.getTime() > now.getTime() + INGEST_LIMITS.maxFutureSkewMs) {
    p.add(code, 'occurredAt', `occurredAt ${occurredAt.toISOString()} is in the future`);
  } else if (occurredAt < INGEST_LIMITS.earliestOccurredAt) {
    p.add(code, 'occurredAt', `occurredAt ${occurredAt.toISOString()} is before 1900`);
  }
  const value = row.value ?? null;
  if (value !== null && (!Number.isFinite(value) || Math.abs(value) >= 1e14)) p.add(code, 'value', 'value must be a finite number below 1e14');
  let currency = row.currency?.trim().toUpperCase() || null;
  if (currency !== null && !/^[A-Z]{3}$/.test(currency)) {
    p.add(code, 'currency', 'currency must be a three-letter ISO 4217 code');
    currency = null;
  }
  const direction = row.direction ?? null;
  if (direction !== null && !DIRECTIONS.includes(direction)) p.add(code, 'direction', `direction must be one of ${DIRECTIONS.join(', ')}`);
  const sentiment = row.sentiment ?? null;
  if (sentiment !== null && !(Number.isFinite(sentiment) && sentiment >= -1 && sentiment <= 1)) {
    p.add(code, 'sentiment', 'sentiment must be between -1 and 1');
  }
  const properties = checkJsonObject(p, code, 'properties', row.properties, INGEST_LIMITS.maxPropertiesBytes) ?? {};
  const demand = toCustomerDemand(p, 'customer', row.customer, row.customerProfile ?? undefined);
  // A text field is undefined only where a problem was added, so the checks on them only narrow.
  if (!p.ok || !demand || channel === undefined || type === undefined || source === undefined || externalId === undefined) return { errors: p.errors };
  return {
    index,
    demand,
    channel,
    type,
    occurredAt,
    value,
    currency,
    direction,
    sentiment,
    properties,
    source,
    externalId,
    key: `${source}\u0000${externalId}`,
  };
}

/** Channels and types are lower-case names (`email`, `ticket_opened`); they are grouped on, so keep them tidy. */
function checkName(p: RowProblems, field: string, value: string | undefined): string | undefined {
  const name = checkText(p, ErrorCode.INVALID_FIELD, field, value, { max: INGEST_LIMITS.maxNameLength, required: true });
  if (name === undefined) return undefined;
  const lower = name.toLowerCase();
  if (!NAME_PATTERN.test(lower)) {
    p.add(ErrorCode.INVALID_FIELD, field, `${field} must start with a letter and contain only letters, digits, _ . : -`);
    return undefined;
  }
  return lower;
}

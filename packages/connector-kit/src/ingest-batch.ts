import { z } from 'zod';
import { toValidationIssues, type ValidationIssue } from './issue-path';
import { isJsonValue } from './json';
import { isIdentifierProblem, normalizeIdentifier, type IdentifierOptions } from './identifiers';

/**
 * How a customer is recognised: `email`, `phone`, or a namespace of your own (`shopify`,
 * `acme-helpdesk`) whose value is that system's id. The value is normalised (emails
 * lower-cased and trimmed, phones to E.164; a national phone number needs the
 * connection's default country) and the customer resolved by it.
 *
 * @example
 * ```ts
 * const identifiers: Identifier[] = [{ type: 'email', value: 'Ada@Example.com' }, { type: 'acme-helpdesk', value: 'user_81' }];
 * ```
 */
export interface Identifier {
  /** `email`, `phone`, or a namespace such as `shopify`. */
  type: string;
  /** The identifier itself, as the source system spells it. */
  value: string;
}

/**
 * A reference to a customer by identifiers (matched, or created when none match).
 *
 * @example
 * ```ts
 * const customer: CustomerRef = { identifiers: [{ type: 'email', value: 'ada@example.com' }] };
 * ```
 */
export interface CustomerRef {
  /** At least one identifier. */
  identifiers: Identifier[];
  /**
   * The sender is not authenticated as this customer (a public write key in a web
   * page): the record may reach a new customer, or one known by nothing but
   * identifiers of the types given here (the anonymous profile the sender
   * created). A customer known by any other identifier (an email, a user id) is
   * left untouched, and the refusal is recorded in the connection's run as
   * `IDENTITY_UNVERIFIED`. @defaultValue false
   */
  unverified?: boolean;
}

/**
 * A customer to create or update, matched by its identifiers. Fields left out are left
 * unchanged; `traits` are merged key by key.
 *
 * @example
 * ```ts
 * const customer: CustomerRecord = {
 *   identifiers: [{ type: 'email', value: 'ada@example.com' }],
 *   displayName: 'Ada Lovelace',
 *   traits: { plan: 'pro' },
 *   organization: { identifiers: [{ type: 'acme-helpdesk-org', value: 'org_7' }] },
 * };
 * ```
 */
export interface CustomerRecord {
  /** At least one identifier. */
  identifiers: Identifier[];
  /** A person (the default) or an organisation. */
  kind?: 'PERSON' | 'ORGANIZATION';
  /** The name to show. */
  displayName?: string;
  /** Free-form attributes, JSON only. */
  traits?: Record<string, unknown>;
  /** Where the customer is in the funnel (`lead`, `customer`, `churned`…). */
  lifecycleStage?: string;
  /** Who owns the relationship (an email or a user id in your system). */
  owner?: string;
  /** The organisation this person belongs to. */
  organization?: CustomerRef;
  /** As {@link CustomerRef.unverified}: the profile fields are written only to a new or anonymous customer. @defaultValue false */
  unverified?: boolean;
}

/**
 * One thing that happened between a customer and the business. `externalId` must be the
 * source's own id for the event, stable across redeliveries: the host stores
 * (`source`, `externalId`) once, so a retried webhook or a re-run sync never counts twice.
 * The host fills `source` from the connection.
 *
 * @example
 * ```ts
 * const interaction: InteractionRecord = {
 *   customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
 *   channel: 'support',
 *   type: 'ticket_opened',
 *   occurredAt: '2024-05-01T12:00:00Z',
 *   direction: 'INBOUND',
 *   properties: { subject: 'Cannot log in', priority: 'high' },
 *   externalId: 'ticket_1042',
 * };
 * ```
 */
export interface InteractionRecord {
  /** Who the interaction is with. */
  customer: CustomerRef;
  /** `email`, `web`, `phone`, `support`, `payment`, `social`, `in_person`… */
  channel: string;
  /** `purchase`, `open`, `click`, `ticket_opened`, `call`… */
  type: string;
  /** When it happened: a `Date`, or an ISO 8601 date-time with a time zone (`Z` or an offset). */
  occurredAt: string | Date;
  /** A monetary or numeric value (order total, refund amount). */
  value?: number;
  /** ISO 4217 code of `value` (`EUR`); lower case is accepted and upper-cased. */
  currency?: string;
  /** Who started it. */
  direction?: 'INBOUND' | 'OUTBOUND';
  /** From −1 (negative) to 1 (positive). */
  sentiment?: number;
  /** Free-form details, JSON only. */
  properties?: Record<string, unknown>;
  /** The source's id for this event; stable across redeliveries. */
  externalId: string;
}

/**
 * What a connector hands to the host: customers and interactions, in one batch that the
 * ingest service commits together. Either list may be absent.
 *
 * @example
 * ```ts
 * await ctx.emit({
 *   customers: [{ identifiers: [{ type: 'email', value: 'ada@example.com' }], displayName: 'Ada' }],
 *   interactions: [{ customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] }, channel: 'email', type: 'open', occurredAt: new Date(), externalId: 'evt_9' }],
 * });
 * ```
 */
export interface IngestBatch {
  /** Customers to create or update. */
  customers?: CustomerRecord[];
  /** Interactions to record. */
  interactions?: InteractionRecord[];
  /** Consent decisions to record (for example an unsubscribe from an email provider). */
  consents?: ConsentRecord[];
}

/**
 * A customer's consent decision for one purpose, on one channel or on every
 * channel (`*`). An older decision never overwrites a newer one, so deliveries
 * may arrive in any order. The customer must exist (send it in `customers` too).
 *
 * @example
 * ```ts
 * const unsubscribe: ConsentRecord = {
 *   customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
 *   purpose: 'marketing', channel: 'email', status: 'WITHDRAWN', recordedAt: '2026-11-20T10:00:00Z',
 * };
 * ```
 */
export interface ConsentRecord {
  customer: CustomerRef;
  purpose: string;
  /** @defaultValue '*' (every channel) */
  channel?: string;
  status: 'GRANTED' | 'DENIED' | 'WITHDRAWN';
  /** When the customer decided (ISO 8601 with offset, or a Date). @defaultValue now */
  recordedAt?: string | Date;
}

const nonEmptyText = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

const jsonRecordSchema = z.record(z.string(), z.unknown()).check((payload) => {
  for (const [key, value] of Object.entries(payload.value)) {
    if (!isJsonValue(value)) {
      payload.issues.push({
        code: 'custom',
        path: [key],
        message: 'must be JSON (strings, finite numbers, booleans, null, arrays and plain objects; convert dates to ISO strings)',
        input: value,
      });
    }
  }
});

/**
 * The identifier schema for a connection: shape, then {@link normalizeIdentifier}
 * with its options (the host's own check). Its output is the normalised identifier.
 */
function identifierSchemaFor(options: IdentifierOptions) {
  return z
    .strictObject({
      type: nonEmptyText(64),
      value: nonEmptyText(1024),
    })
    .transform((identifier, ctx) => {
      const normalized = normalizeIdentifier(identifier, options);
      if (!isIdentifierProblem(normalized)) return normalized;
      ctx.addIssue({ code: 'custom', path: [normalized.field], message: normalized.message, params: { code: normalized.code } });
      return z.NEVER;
    });
}

/**
 * zod schema of an {@link Identifier}: its output is normalised as the host stores it
 * (a phone must be international; see {@link ingestSchemasFor} for a default country).
 *
 * @example
 * ```ts
 * identifierSchema.parse({ type: 'email', value: ' Ada@Example.com' }); // { type: 'email', value: 'ada@example.com' }
 * ```
 */
export const identifierSchema = identifierSchemaFor({});

const OCCURRED_AT_MESSAGE = 'must be a Date or an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z';
const occurredAtSchema = z
  .union([z.iso.datetime({ offset: true, error: OCCURRED_AT_MESSAGE }), z.date({ error: OCCURRED_AT_MESSAGE })], { error: OCCURRED_AT_MESSAGE })
  .transform((value) => (typeof value === 'string' ? new Date(value) : value));

/** The record schemas, with identifiers read under `options` (a connection's default phone country). */
function recordSchemas(options: IdentifierOptions) {
  const identifier = identifierSchemaFor(options);
  const customerRef = z.strictObject({
    identifiers: z.array(identifier).min(1, 'needs at least one identifier'),
    unverified: z.boolean().optional(),
  });
  const customerRecord = z.strictObject({
    identifiers: z.array(identifier).min(1, 'needs at least one identifier'),
    kind: z.enum(['PERSON', 'ORGANIZATION']).optional(),
    displayName: nonEmptyText(512).optional(),
    traits: jsonRecordSchema.optional(),
    lifecycleStage: nonEmptyText(64).optional(),
    owner: nonEmptyText(256).optional(),
    organization: customerRef.optional(),
    unverified: z.boolean().optional(),
  });
  const interactionRecord = z.strictObject({
    customer: customerRef,
    channel: nonEmptyText(64),
    type: nonEmptyText(64),
    occurredAt: occurredAtSchema,
    value: z.number().optional(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 currency code such as EUR')
      .toUpperCase()
      .optional(),
    direction: z.enum(['INBOUND', 'OUTBOUND']).optional(),
    sentiment: z.number().min(-1, 'must be between -1 and 1').max(1, 'must be between -1 and 1').optional(),
    properties: jsonRecordSchema.optional(),
    externalId: nonEmptyText(512),
  });
  const consentRecord = z.strictObject({
    customer: customerRef,
    purpose: nonEmptyText(64),
    channel: nonEmptyText(64).optional(),
    status: z.enum(['GRANTED', 'DENIED', 'WITHDRAWN']),
    recordedAt: occurredAtSchema.optional(),
  });
  const ingestBatch = z.strictObject({
    customers: z.array(customerRecord).optional(),
    interactions: z.array(interactionRecord).optional(),
    consents: z.array(consentRecord).optional(),
  });
  return { customerRef, customerRecord, interactionRecord, consentRecord, ingestBatch };
}

/** The record schemas of a batch. */
export type RecordSchemas = ReturnType<typeof recordSchemas>;

const DEFAULT_SCHEMAS = recordSchemas({});
const schemasByCountry = new Map<string, RecordSchemas>();

/**
 * The record schemas the host validates a connection's batches with: identifiers are
 * normalised with `options` (phones without a country code read in `defaultCountry`).
 *
 * @example
 * ```ts
 * const { interactionRecord } = ingestSchemasFor({ defaultCountry: 'GB' });
 * interactionRecord.parse(row).customer.identifiers[0].value; // '+447911123456' for '07911 123456'
 * ```
 */
export function ingestSchemasFor(options: IdentifierOptions = {}): RecordSchemas {
  const country = options.defaultCountry;
  if (country === undefined) return DEFAULT_SCHEMAS;
  let schemas = schemasByCountry.get(country);
  if (!schemas) {
    schemas = recordSchemas({ defaultCountry: country });
    schemasByCountry.set(country, schemas);
  }
  return schemas;
}

/**
 * zod schema of a {@link CustomerRef}.
 *
 * @example
 * ```ts
 * customerRefSchema.parse({ identifiers: [{ type: 'shopify', value: '7781' }] });
 * ```
 */
export const customerRefSchema = DEFAULT_SCHEMAS.customerRef;

/**
 * zod schema of a {@link CustomerRecord}. Unknown fields are rejected, so a typo
 * (`displayname`) is reported instead of silently dropped.
 *
 * @example
 * ```ts
 * customerRecordSchema.parse({ identifiers: [{ type: 'email', value: 'ada@example.com' }], kind: 'PERSON' });
 * ```
 */
export const customerRecordSchema = DEFAULT_SCHEMAS.customerRecord;

/**
 * zod schema of an {@link InteractionRecord}. Its output has `occurredAt` as a `Date`
 * and `currency` upper-cased.
 *
 * @example
 * ```ts
 * const parsed = interactionRecordSchema.parse({
 *   customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
 *   channel: 'payment', type: 'purchase', occurredAt: '2024-05-01T12:00:00Z', value: 42, currency: 'eur', externalId: 'ch_1',
 * });
 * parsed.currency; // 'EUR'
 * ```
 */
export const interactionRecordSchema = DEFAULT_SCHEMAS.interactionRecord;

/**
 * zod schema of a {@link ConsentRecord}; its output has `recordedAt` as a `Date` when given.
 *
 * @example
 * ```ts
 * consentRecordSchema.parse({ customer: { identifiers: [{ type: 'email', value: 'a@b.c' }] }, purpose: 'marketing', status: 'GRANTED' });
 * ```
 */
export const consentRecordSchema = DEFAULT_SCHEMAS.consentRecord;

/**
 * zod schema of an {@link IngestBatch}, identifiers read without a default country.
 *
 * @example
 * ```ts
 * const result = ingestBatchSchema.safeParse(batch);
 * ```
 */
export const ingestBatchSchema = DEFAULT_SCHEMAS.ingestBatch;

/**
 * A batch after {@link parseIngestBatch}: trimmed strings, `occurredAt` as a `Date`,
 * currencies upper-cased. This is what the host hands to the ingest service.
 *
 * @example
 * ```ts
 * const result = parseIngestBatch(batch);
 * if (result.ok) result.batch.interactions?.forEach((interaction) => interaction.occurredAt.toISOString());
 * ```
 */
export type ParsedIngestBatch = z.output<typeof ingestBatchSchema>;

/**
 * Outcome of {@link parseIngestBatch}.
 *
 * @example
 * ```ts
 * const result: IngestBatchParseResult = parseIngestBatch(await parse(request, config));
 * ```
 */
export type IngestBatchParseResult = { ok: true; batch: ParsedIngestBatch } | { ok: false; errors: ValidationIssue[] };

/**
 * Validates a batch from a connector, as the host does: identifiers are normalised by
 * the host's own code, phones without a country code read in `options.defaultCountry`
 * (the connection's). Every problem is reported with its path
 * (`interactions[2].customer.identifiers[0].value`), so a partner can fix the mapping
 * and the host can say which record it rejected.
 *
 * @example
 * ```ts
 * const result = parseIngestBatch({ interactions: [{ channel: 'email' }] });
 * if (!result.ok) {
 *   // [{ path: 'interactions[0].customer', … }, { path: 'interactions[0].type', … }, …]
 *   throw new MalformedPayloadError(result.errors.map((error) => `${error.path}: ${error.message}`).join('; '));
 * }
 * ```
 */
export function parseIngestBatch(value: unknown, options: IdentifierOptions = {}): IngestBatchParseResult {
  const result = ingestSchemasFor(options).ingestBatch.safeParse(value);
  if (result.success) return { ok: true, batch: result.data };
  return { ok: false, errors: toValidationIssues(result.error.issues) };
}

// The interfaces above are what partners read; these lines keep them and the schemas in step.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemasMatchInterfaces: [
  Same<z.input<typeof identifierSchema>, Identifier>,
  Same<z.input<typeof customerRecordSchema>, CustomerRecord>,
  Same<z.input<typeof interactionRecordSchema>, InteractionRecord>,
  Same<z.input<typeof ingestBatchSchema>, IngestBatch>,
] = [true, true, true, true];
void schemasMatchInterfaces;

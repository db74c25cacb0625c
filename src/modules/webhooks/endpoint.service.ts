import type { DataSource, EntityManager } from 'typeorm';
import { EgressDeniedError } from '@rapport/connector-kit';
import { fail } from '../../errors/catalog';
import { inTransaction } from '../../infra/database';
import { isDatabaseId } from '../../infra/db-values';
import { auditRecords } from '../access';
import type { SecretBox } from '../connectors';
import { EVENT_TYPES, type EventType } from '../events';
import type { WebhookSender } from './sender';
import { generateSecret, secretProblem } from './signing';

/** The values of `webhook_endpoints.status` (its check constraint). */
export const ENDPOINT_STATUSES = ['ACTIVE', 'DISABLED'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

/**
 * Which events of its types an endpoint takes: every key names a top-level
 * field of the event's payload (`customerId`, `segmentId`, `kind`,
 * `ruleId`…) and lists the values it may have; an event passes when, for
 * every key, its payload has that field with one of the values. An event
 * whose payload lacks a field the filter names does not pass. Values are
 * compared as text, as the payload's JSON has them.
 */
export type EndpointFilter = Record<string, string[]>;

/** An endpoint as the API shows it: never its secrets. */
export interface EndpointRecord {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  filter: EndpointFilter;
  status: EndpointStatus;
  /** Until when the rotated-out secret still signs (both signatures are sent). */
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateEndpointInput {
  url: string;
  events: readonly string[];
  filter?: unknown;
  /** `whsec_…`; generated when absent. */
  secret?: string | null;
  description?: string | null;
}

export interface UpdateEndpointInput {
  url?: string | null;
  events?: readonly string[] | null;
  filter?: unknown;
  description?: string | null;
  status?: EndpointStatus | null;
  /** A new secret (`whsec_…`); the old one keeps signing for RAPPORT_WEBHOOK_SECRET_OVERLAP_HOURS. */
  secret?: string | null;
  /** Generate a new secret (answered once), with the same overlap. */
  rotateSecret?: boolean | null;
}

const MAX_URL_LENGTH = 2048;
const MAX_EVENTS = 64;
const MAX_FILTER_KEYS = 10;
const MAX_FILTER_VALUES = 1000;
const MAX_FILTER_VALUE_LENGTH = 256;
const FILTER_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export const ENDPOINT_COLUMNS = `id::text, url, description, events, filter, status, previous_secret_expires_at AS "previousSecretExpiresAt",
  failing_since AS "failingSince", disabled_at AS "disabledAt", disabled_reason AS "disabledReason", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The event types an endpoint may choose: every outbox event of the catalog. */
export function deliverableEvents(): EventType[] {
  return Object.keys(EVENT_TYPES) as EventType[];
}

/** Webhook endpoints: their URL (checked by the egress guard), events, filter and write-only secrets, encrypted at rest. */
export class EndpointService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly sender: WebhookSender,
    private readonly secretOverlapMs: number,
  ) {}

  async create(input: CreateEndpointInput): Promise<{ endpoint: EndpointRecord; secret: string | null }> {
    const url = await this.checkUrl(input.url, 'url');
    const events = checkEvents(input.events, 'events');
    const filter = checkFilter(input.filter ?? {}, 'filter');
    const description = checkDescription(input.description);
    const given = input.secret ?? null;
    if (given !== null) checkSecret(given, 'secret');
    const secret = given ?? generateSecret();
    const sealed = this.box.encrypt(secret);
    return inTransaction(this.dataSource, async (manager) => {
      const [row]: EndpointRecord[] = await manager.query(
        `INSERT INTO webhook_endpoints (url, description, events, filter, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
        [url, description, events, JSON.stringify(filter), sealed],
      );
      auditRecords('webhook_endpoint', [row.id]);
      // A secret the caller chose is not answered back: it is write-only.
      return { endpoint: row, secret: given === null ? secret : null };
    });
  }

  async update(id: string, input: UpdateEndpointInput): Promise<{ endpoint: EndpointRecord; secret: string | null; reactivated: boolean }> {
    const url = input.url == null ? null : await this.checkUrl(input.url, 'input.url');
    const events = input.events == null ? null : checkEvents(input.events, 'input.events');
    const filter = input.filter == null ? null : checkFilter(input.filter, 'input.filter');
    const description = input.description === undefined ? undefined : checkDescription(input.description);
    if (input.secret != null && input.rotateSecret)
      throw fail('BAD_REQUEST', { detail: 'give either input.secret or input.rotateSecret, not both' }, 'input.secret');
    if (input.secret != null) checkSecret(input.secret, 'input.secret');
    const newSecret = input.secret ?? (input.rotateSecret ? generateSecret() : null);
    return inTransaction(this.dataSource, async (manager) => {
      const current = await this.lock(manager, id);
      const [[row]]: [EndpointRecord[], number] = await manager.query(
        `UPDATE webhook_endpoints SET
           url = COALESCE($2, url), events = COALESCE($3, events), filter = COALESCE($4::jsonb, filter),
           description = CASE WHEN $5::boolean THEN $6 ELSE description END,
           status = COALESCE($7, status),
           disabled_at = CASE WHEN COALESCE($7, status) = 'ACTIVE' THEN NULL WHEN $7 = 'DISABLED' AND status = 'ACTIVE' THEN now() ELSE disabled_at END,
           disabled_reason = CASE WHEN COALESCE($7, status) = 'ACTIVE' THEN NULL WHEN $7 = 'DISABLED' AND status = 'ACTIVE' THEN 'disabled by hand' ELSE disabled_reason END,
           failing_since = CASE WHEN $7 = 'ACTIVE' AND status = 'DISABLED' THEN NULL ELSE failing_since END,
           previous_secret = CASE WHEN $8::text IS NULL THEN previous_secret ELSE secret END,
           previous_secret_expires_at = CASE WHEN $8::text IS NULL THEN previous_secret_expires_at ELSE now() + make_interval(secs => $9) END,
           secret = COALESCE($8, secret),
           updated_at = now()
         WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
        [
          id,
          url,
          events,
          filter === null ? null : JSON.stringify(filter),
          description !== undefined,
          description ?? null,
          input.status ?? null,
          newSecret === null ? null : this.box.encrypt(newSecret),
          this.secretOverlapMs / 1000,
        ],
      );
      auditRecords('webhook_endpoint', [id]);
      return { endpoint: row, secret: input.rotateSecret ? newSecret : null, reactivated: current.status === 'DISABLED' && row.status === 'ACTIVE' };
    });
  }

  async delete(id: string): Promise<{ id: string }> {
    return inTransaction(this.dataSource, async (manager) => {
      await this.lock(manager, id);
      await manager.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [id]);
      auditRecords('webhook_endpoint', [id]);
      return { id };
    });
  }

  async list(): Promise<EndpointRecord[]> {
    return this.dataSource.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY webhook_endpoints.id`);
  }

  async get(id: string): Promise<EndpointRecord | undefined> {
    if (!isDatabaseId(id)) return undefined;
    const [row] = await this.dataSource.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
    return row;
  }

  async require(id: string): Promise<EndpointRecord> {
    const row = await this.get(id);
    if (!row) throw fail('WEBHOOK_ENDPOINT_NOT_FOUND', { id }, 'id');
    return row;
  }

  /** The secrets that sign a message now: the current one, and a rotated-out one until its overlap ends. */
  signingSecrets(row: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null }, now = new Date()): string[] {
    const secrets = [this.box.decrypt(row.secret) as string];
    if (row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now) secrets.push(this.box.decrypt(row.previousSecret) as string);
    return secrets;
  }

  private async lock(manager: EntityManager, id: string): Promise<{ status: EndpointStatus }> {
    const [row] = isDatabaseId(id) ? await manager.query(`SELECT status FROM webhook_endpoints WHERE id = $1 FOR UPDATE`, [id]) : [];
    if (!row) throw fail('WEBHOOK_ENDPOINT_NOT_FOUND', { id }, 'id');
    return row;
  }

  /** Parses and checks an endpoint URL: http(s), no credentials, and a host the egress guard lets deliveries reach. */
  private async checkUrl(text: string, field: string): Promise<string> {
    if (text.length > MAX_URL_LENGTH) throw fail('VALIDATION_FAILED', { detail: `${field} is longer than ${MAX_URL_LENGTH} characters` }, field);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw fail('WEBHOOK_URL_REFUSED', { detail: `${field} is not an absolute URL` }, field);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw fail('WEBHOOK_URL_REFUSED', { detail: `${field} must be an http or https URL` }, field);
    if (url.username || url.password) throw fail('WEBHOOK_URL_REFUSED', { detail: `${field} must not carry credentials (user:password@)` }, field);
    try {
      await this.sender.check(url);
    } catch (error) {
      const reason =
        error instanceof EgressDeniedError ? error.message : `its host could not be resolved (${error instanceof Error ? error.message : String(error)})`;
      throw fail('WEBHOOK_URL_REFUSED', { detail: `${field}: ${reason}` }, field);
    }
    return url.toString();
  }
}

function checkEvents(events: readonly string[], field: string): string[] {
  if (events.length === 0) throw fail('VALIDATION_FAILED', { detail: `${field} must name at least one event type` }, field);
  if (events.length > MAX_EVENTS) throw fail('BATCH_TOO_LARGE', { detail: `${field} names more than ${MAX_EVENTS} event types` }, field);
  const known = deliverableEvents();
  events.forEach((event, i) => {
    if (!(known as string[]).includes(event))
      throw fail('VALIDATION_FAILED', { detail: `${field}[${i}] is not an event type; the catalog has ${known.join(', ')}` }, `${field}[${i}]`);
  });
  return [...new Set(events)];
}

function checkFilter(value: unknown, field: string): EndpointFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('VALIDATION_FAILED', { detail: `${field} must be a JSON object` }, field);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_FILTER_KEYS) throw fail('VALIDATION_FAILED', { detail: `${field} has more than ${MAX_FILTER_KEYS} keys` }, field);
  const filter: EndpointFilter = {};
  for (const [key, raw] of entries) {
    const at = `${field}.${key}`;
    if (!FILTER_KEY.test(key)) throw fail('VALIDATION_FAILED', { detail: `${field}: "${key.slice(0, 64)}" is not a payload field name` }, field);
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || list.length > MAX_FILTER_VALUES)
      throw fail('VALIDATION_FAILED', { detail: `${at} must list 1 to ${MAX_FILTER_VALUES} values` }, at);
    filter[key] = list.map((item) => {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean')
        throw fail('VALIDATION_FAILED', { detail: `${at} values must be strings, numbers or booleans` }, at);
      const text = String(item);
      if (text.length === 0 || text.length > MAX_FILTER_VALUE_LENGTH)
        throw fail('VALIDATION_FAILED', { detail: `${at} values must be 1 to ${MAX_FILTER_VALUE_LENGTH} characters` }, at);
      return text;
    });
  }
  return filter;
}

function checkSecret(secret: string, field: string): void {
  const problem = secretProblem(secret);
  if (problem) throw fail('VALIDATION_FAILED', { detail: `${field} ${problem}` }, field);
}

function checkDescription(description: string | null | undefined): string | null {
  if (description == null || description === '') return null;
  if (description.length > 500) throw fail('VALIDATION_FAILED', { detail: 'description is longer than 500 characters' }, 'description');
  return description;
}

import type { DataSource } from 'typeorm';
import { inTransaction } from '../../infra/database';
import { z } from 'zod';
import { CONNECTOR_ERROR_CODES, MAX_SOURCE_KEY_LENGTH, REDACTED, isPhoneCountry } from '@rapport/connector-kit';
import { ErrorCode, fail } from '../../errors/catalog';
import type { PluginManifest } from '../../plugin-host/protocol';
import type { Page } from '../../infra/page';
import { decodeCursor, encodeCursor } from '../../infra/cursor';
import { pageSize, SqlParams } from '../../infra/sql-filter';
import type { ConnectorRegistry } from './connector-registry';
import { PluginCallError, type PluginHosts, type RunnablePlugin } from './plugin-hosts';
import { SecretBox } from './secret-box';
import { isDatabaseId } from '../../infra/db-values';
import { NO_CUSTOMER, outboxInsertSql } from '../events';

/** The values of `connections.status` (its check constraint in migrations). */
export const CONNECTION_STATUSES = ['ACTIVE', 'PAUSED', 'NEEDS_ATTENTION'] as const;
/** ACTIVE runs on its schedule and accepts webhooks; PAUSED does neither; NEEDS_ATTENTION: the source refused the credentials. */
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** A connection as stored; `config` holds encrypted secrets and is never returned as is. */
export interface ConnectionRecord {
  id: string;
  connector: string;
  name: string;
  config: Record<string, unknown>;
  state: Record<string, unknown> | null;
  status: ConnectionStatus;
  schedule: string | null;
  lastRunAt: Date | null;
  lastError: string | null;
  /** The country phone numbers without a country code are read in; null: the instance default. */
  defaultCountry: string | null;
  /** The remote account the config reaches, when the connector declares `sourceKey`. */
  sourceKey: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Input of {@link ConnectionService.create}. */
export interface CreateConnectionInput {
  connector: string;
  name: string;
  config: unknown;
  schedule?: string | null;
  status?: ConnectionStatus | null;
  /** ISO 3166-1 alpha-2 country for phone numbers without a country code; null: the instance default. */
  defaultCountry?: string | null;
}

/**
 * Input of {@link ConnectionService.update}: omitted fields are unchanged; a secret left
 * out or sent as `[redacted]` keeps its stored value, one sent as `null` is removed —
 * unless the config changes an endpoint field, which requires every stored secret again.
 */
export interface UpdateConnectionInput {
  name?: string | null;
  config?: Record<string, unknown> | null;
  schedule?: string | null;
  status?: ConnectionStatus | null;
  /** Forget the cursor: the next sync starts from the beginning. */
  resetState?: boolean | null;
  /** A country code, or `''` to fall back to the instance default; omitted (or null) leaves it. */
  defaultCountry?: string | null;
}

/** Where a connection's batches go and how their identifiers are read. */
export interface IngestScope {
  /** The interaction `source`: `connector:<id>`, or `connector:<connector>:<sourceKey>` for a connector that declares one. */
  source: string;
  /** Phone numbers without a country code are read in this country. */
  defaultCountry?: string;
}

/**
 * What a connector's `check` said about a config. A failure is conclusive when
 * the connector refused the credentials or a setting (`CONNECTOR_AUTHENTICATION`,
 * `CONNECTOR_CONFIG`, `CONNECTOR_CONFIG_INVALID`): the config is wrong. Any other
 * failure (network, rate limit, timeout, a crash, a bug) says the check could
 * not finish, not that the config is wrong.
 */
export interface ConnectionCheck {
  /** The connector declares a `check`; without one nothing is tested and `passed` is true. */
  checked: boolean;
  passed: boolean;
  conclusive: boolean;
  /** Stable code of the failure: the connector error's (`CONNECTOR_AUTHENTICATION`…), or the host's (`PLUGIN_TIMEOUT`, `PLUGIN_CRASHED`, `CONNECTOR_UNAVAILABLE`), or `CONNECTION_CHECK_FAILED` for anything else the plugin threw. */
  code: string | null;
  message: string | null;
  /** The config field at fault (`config.subdomain`), `config` when the connector names none. */
  field: string | null;
  durationMs: number;
}

/** Connector codes that say the config itself is wrong. */
const CONCLUSIVE_CHECK_CODES = new Set<string>([CONNECTOR_ERROR_CODES.AUTHENTICATION, CONNECTOR_ERROR_CODES.CONFIG, ErrorCode.CONNECTOR_CONFIG_INVALID]);

/** Keeps a connection's pull schedule in the queue in step with its row. */
export interface ScheduleSink {
  upsert(connectionId: string, schedule: string): Promise<void>;
  remove(connectionId: string): Promise<void>;
}

/** A schedule as BullMQ's job scheduler takes it. */
export type ParsedSchedule = { every: number } | { pattern: string };

const COLUMNS = `id::text, connector, name, config, state, status, schedule, last_run_at AS "lastRunAt", last_error AS "lastError",
  default_country AS "defaultCountry", source_key AS "sourceKey", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Validates a schedule: whole seconds (at least 1) or a 5- or 6-field cron pattern. */
export function parseSchedule(schedule: string, field = 'schedule'): ParsedSchedule {
  const text = schedule.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    if (seconds < 1 || seconds > 366 * 24 * 3600)
      throw fail('VALIDATION_FAILED', { detail: `${field}: an interval must be between 1 second and a year` }, field);
    return { every: seconds * 1000 };
  }
  const fields = text.split(/\s+/);
  if ((fields.length === 5 || fields.length === 6) && fields.every((part) => /^[0-9A-Za-z*/,?#LW-]+$/.test(part))) return { pattern: text };
  throw fail('VALIDATION_FAILED', { detail: `${field}: "${schedule}" is neither an interval in seconds ("3600") nor a cron pattern ("0 * * * *")` }, field);
}

/** What a plugin host answers a config validation. */
const configVerdictSchema = z.union([
  z.object({ ok: z.literal(true), config: z.record(z.string(), z.unknown()), sourceKey: z.string().min(1).max(MAX_SOURCE_KEY_LENGTH).optional() }),
  z.object({
    ok: z.literal(false),
    issues: z
      .array(z.object({ field: z.string().max(500), message: z.string().transform((m) => m.slice(0, 1000)) }))
      .min(1)
      .max(100),
  }),
]);

/** The largest config a plugin's schema may return (defaults applied), as JSON. */
const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * Connections: create, update and delete them, with the config validated
 * against the plugin's schema — in the plugin's host, since the schema is
 * plugin code (errors name the field, as `config.<field>`) — and every secret
 * field encrypted before it reaches the table.
 */
export class ConnectionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ConnectorRegistry,
    private readonly secrets: SecretBox,
    private readonly schedules: ScheduleSink,
    private readonly hosts: PluginHosts,
    private readonly options: { defaultPhoneCountry?: string } = {},
  ) {}

  /** The source a connection's records are stored under, and how their identifiers are read. */
  ingestScope(connection: Pick<ConnectionRecord, 'id' | 'connector' | 'sourceKey' | 'defaultCountry'>): IngestScope {
    const defaultCountry = connection.defaultCountry ?? this.options.defaultPhoneCountry;
    return {
      source: connection.sourceKey ? `connector:${connection.connector}:${connection.sourceKey}` : `connector:${connection.id}`,
      ...(defaultCountry ? { defaultCountry } : {}),
    };
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    if (!isDatabaseId(id)) return undefined;
    const [row] = await this.dataSource.query(`SELECT ${COLUMNS} FROM connections WHERE id = $1`, [id]);
    return row;
  }

  async require(id: string, field = 'id'): Promise<ConnectionRecord> {
    const connection = await this.get(id);
    if (!connection) throw fail('NOT_FOUND', { detail: `no connection ${id}` }, field);
    return connection;
  }

  async list(args: { first?: number | null; after?: string | null }): Promise<Page<ConnectionRecord> & { totalCount: () => Promise<number> }> {
    const first = pageSize(args.first);
    const afterId = args.after ? decodeCursor('connections', args.after, 1)[0] : null;
    const rows: ConnectionRecord[] = await this.dataSource.query(
      // Ordered by the column, not the text id selected under the same name.
      `SELECT ${COLUMNS} FROM connections WHERE ($1::bigint IS NULL OR connections.id > $1::bigint) ORDER BY connections.id LIMIT $2`,
      [afterId, first + 1],
    );
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor('connections', [String(node.id)]), node }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
      totalCount: async () => (await this.dataSource.query(`SELECT count(*)::int AS count FROM connections`))[0].count,
    };
  }

  async create(input: CreateConnectionInput): Promise<ConnectionRecord> {
    const { manifest, plugin } = this.registry.require(input.connector, 'connector');
    const name = checkName(input.name);
    const { config, sourceKey } = await this.validateConfig(manifest, plugin, input.config);
    const schedule = this.checkSchedule(manifest, input.schedule ?? null);
    const status = input.status ?? 'ACTIVE';
    const defaultCountry = checkCountry(input.defaultCountry ?? null);
    this.refuseFailedCheck(manifest, await this.runCheck(manifest, plugin, config));
    const stored = this.secrets.encryptPaths(config, manifest.secretKeys);
    let row: ConnectionRecord;
    try {
      // In a transaction so the audit entry of the mutation commits with it.
      [row] = await inTransaction(this.dataSource, (manager) =>
        manager.query(
          `INSERT INTO connections (connector, name, config, schedule, status, default_country, source_key) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
          [manifest.id, name, JSON.stringify(stored), schedule, status, defaultCountry, sourceKey ?? null],
        ),
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw fail('VALIDATION_FAILED', { detail: `a connection named "${name}" already exists` }, 'name');
      throw error;
    }
    await this.syncSchedule(row.id);
    return row;
  }

  async update(id: string, input: UpdateConnectionInput): Promise<ConnectionRecord> {
    const current = await this.require(id);
    const { manifest, plugin } = this.registry.require(current.connector, 'connector');
    const sets: string[] = [];
    const p = new SqlParams();
    const idParam = p.add(id);
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ${p.add(value)}`);
    };
    if (input.name != null) set('name', checkName(input.name));
    if (input.config != null) {
      const keys = manifest.secretKeys;
      const kept = this.secrets.decryptPaths(current.config, keys);
      // A secret the client left out or echoed back redacted keeps its stored value; null removes it.
      const merged = new Map(Object.entries(input.config));
      for (const key of keys.filter((k) => !k.includes('.'))) {
        const given = merged.get(key);
        if (given === undefined || given === REDACTED) merged.set(key, kept[key]);
        else if (given === null && !manifest.configFields.find((field) => field.name === key)?.nullable) merged.delete(key);
      }
      const { config, sourceKey } = await this.validateConfig(manifest, plugin, Object.fromEntries(merged));
      this.requireSecretsOnEndpointChange(manifest, kept, input.config, config, keys);
      // The stored config was validated when written, so an unchanged config compares equal (whatever its keys' order: jsonb reorders them).
      if (canonicalJson(config) !== canonicalJson(kept)) this.refuseFailedCheck(manifest, await this.runCheck(manifest, plugin, config));
      set('config', JSON.stringify(this.secrets.encryptPaths(config, keys)));
      // A connection that has stored under its own scope keeps it: gaining a key later (its connector now
      // declares one, or its config now names the account) would store its records again under the shared one.
      set('source_key', current.sourceKey === null ? null : (sourceKey ?? null));
    }
    if (input.schedule !== undefined) set('schedule', this.checkSchedule(manifest, input.schedule === '' ? null : input.schedule));
    if (input.status != null) {
      if (!CONNECTION_STATUSES.includes(input.status))
        throw fail('VALIDATION_FAILED', { detail: `status must be one of ${CONNECTION_STATUSES.join(', ')}` }, 'status');
      set('status', input.status);
      if (input.status === 'ACTIVE') sets.push('last_error = NULL');
    }
    if (input.resetState) sets.push('state = NULL');
    if (input.defaultCountry != null) set('default_country', input.defaultCountry.trim() === '' ? null : checkCountry(input.defaultCountry));
    if (sets.length === 0) return current;
    let row: ConnectionRecord;
    try {
      // TypeORM answers an UPDATE … RETURNING with [rows, affected].
      const [rows] = (await inTransaction(this.dataSource, (manager) =>
        manager.query(`UPDATE connections SET ${sets.join(', ')}, updated_at = now() WHERE id = ${idParam} RETURNING ${COLUMNS}`, p.values),
      )) as [ConnectionRecord[], number];
      row = rows[0];
    } catch (error) {
      if ((error as { code?: string }).code === '23505')
        throw fail('VALIDATION_FAILED', { detail: `a connection named "${input.name}" already exists` }, 'name');
      throw error;
    }
    // Deleted between the read above and this update.
    if (!row) throw fail('NOT_FOUND', { detail: 'the connection does not exist' }, 'id');
    await this.syncSchedule(row.id);
    return row;
  }

  /** Deletes a connection, its runs (cascade) and its schedule. Interactions it delivered stay. */
  async delete(id: string): Promise<ConnectionRecord> {
    const current = await this.require(id);
    await inTransaction(this.dataSource, (manager) => manager.query(`DELETE FROM connections WHERE id = $1`, [id]));
    await this.syncSchedule(id);
    return current;
  }

  /** Runs the connector's `check` with the connection's stored config; changes nothing. */
  async test(id: string): Promise<ConnectionCheck> {
    const connection = await this.require(id);
    const { manifest, plugin } = this.registry.require(connection.connector, 'id');
    return this.runCheck(manifest, plugin, this.decryptedConfig(connection, manifest));
  }

  /** Runs the connector's `check` (plugin code: in the plugin's warm host, under the call deadline). */
  private async runCheck(manifest: PluginManifest, plugin: RunnablePlugin, config: Record<string, unknown>): Promise<ConnectionCheck> {
    const started = Date.now();
    const outcome = (failure?: { code: string; message: string; field?: string }): ConnectionCheck => ({
      checked: manifest.check,
      passed: failure === undefined,
      conclusive: failure !== undefined && CONCLUSIVE_CHECK_CODES.has(failure.code),
      code: failure?.code ?? null,
      message: failure ? failure.message.slice(0, 1000) : null,
      field: failure ? (failure.field ? (failure.field.startsWith('config') ? failure.field : `config.${failure.field}`) : 'config') : null,
      durationMs: Date.now() - started,
    });
    if (!manifest.check) return outcome();
    try {
      await this.hosts.call(plugin, { op: 'check', config });
      return outcome();
    } catch (error) {
      if (!(error instanceof PluginCallError)) throw error;
      if (error.kind === 'plugin' && error.wire)
        return outcome({ code: error.wire.code ?? ErrorCode.CONNECTION_CHECK_FAILED, message: error.wire.message, field: error.wire.field });
      const code = error.kind === 'deadline' ? ErrorCode.PLUGIN_TIMEOUT : error.kind === 'crashed' ? ErrorCode.PLUGIN_CRASHED : ErrorCode.CONNECTOR_UNAVAILABLE;
      return outcome({ code, message: error.message });
    }
  }

  /** A check that says the config is wrong refuses the create or update; nothing is written. */
  private refuseFailedCheck(manifest: PluginManifest, check: ConnectionCheck): void {
    if (check.passed || !check.conclusive) return;
    throw fail(
      'CONNECTION_CHECK_FAILED',
      { detail: `connector "${manifest.id}" refused the config (${check.code}): ${check.message}` },
      check.field ?? 'config',
    );
  }

  /** The config a plugin host receives for one call: secrets decrypted. The host validates it against the plugin's schema (defaults applied) before the plugin sees it. */
  decryptedConfig(connection: ConnectionRecord, manifest: PluginManifest): Record<string, unknown> {
    return this.secrets.decryptPaths(connection.config, manifest.secretKeys);
  }

  /** The config the API shows: every secret replaced by `[redacted]`, also when the plugin is not loaded. */
  shownConfig(connection: ConnectionRecord): Record<string, unknown> {
    const plugin = this.registry.find(connection.connector);
    const redactEnvelopes = (value: unknown): unknown => {
      if (SecretBox.isEnvelope(value)) return REDACTED;
      if (Array.isArray(value)) return value.map(redactEnvelopes);
      if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactEnvelopes(v)]));
      return value;
    };
    const base = redactEnvelopes(connection.config) as Record<string, unknown>;
    return plugin?.status === 'LOADED' ? redactPaths(base, plugin.manifest.secretKeys) : base;
  }

  /** Saves the cursor; called only after the batches it covers are committed. */
  async saveState(id: string, state: unknown): Promise<void> {
    await this.dataSource.query(`UPDATE connections SET state = $2, updated_at = now() WHERE id = $1`, [id, JSON.stringify(state ?? null)]);
  }

  /**
   * Records how a run ended. Refused credentials or config flag the connection
   * NEEDS_ATTENTION with the reason; a run that succeeds clears that flag and
   * its error (the credentials work again) and publishes `connection.recovered`
   * in the same statement, and the connection's schedule is registered again.
   */
  async recordRunEnd(id: string, outcome: { needsAttention?: string; succeededRunId?: string }): Promise<void> {
    if (outcome.needsAttention) {
      await this.dataSource.query(`UPDATE connections SET last_run_at = now(), status = 'NEEDS_ATTENTION', last_error = $2 WHERE id = $1`, [
        id,
        outcome.needsAttention,
      ]);
      return;
    }
    if (outcome.succeededRunId === undefined) {
      await this.dataSource.query(`UPDATE connections SET last_run_at = now() WHERE id = $1`, [id]);
      return;
    }
    const [recovered]: ConnectionRecord[] = await this.dataSource.query(
      `WITH before AS (SELECT id, status FROM connections WHERE id = $1 FOR UPDATE),
       updated AS (
         UPDATE connections c SET last_run_at = now(),
           status = CASE WHEN before.status = 'NEEDS_ATTENTION' THEN 'ACTIVE' ELSE c.status END,
           last_error = CASE WHEN before.status = 'NEEDS_ATTENTION' THEN NULL ELSE c.last_error END,
           updated_at = CASE WHEN before.status = 'NEEDS_ATTENTION' THEN now() ELSE c.updated_at END
         FROM before WHERE c.id = before.id
         RETURNING c.*, before.status AS "previousStatus"),
       published AS (${outboxInsertSql(
         'connection.recovered',
         `SELECT ${NO_CUSTOMER}::bigint AS customer_id, jsonb_build_object('connectionId', id::text, 'runId', $2::text) AS payload
            FROM updated WHERE "previousStatus" = 'NEEDS_ATTENTION'`,
       )})
       SELECT ${COLUMNS} FROM updated WHERE "previousStatus" = 'NEEDS_ATTENTION'`,
      [id, outcome.succeededRunId],
    );
    if (recovered) await this.syncSchedule(recovered.id);
  }

  /** Re-registers every ACTIVE connection's schedule (at worker start, on queue reconnect and periodically). */
  async restoreSchedules(): Promise<void> {
    const rows: { id: string }[] = await this.dataSource.query(`SELECT id::text AS id FROM connections WHERE schedule IS NOT NULL`);
    for (const { id } of rows) await this.syncSchedule(id);
  }

  /**
   * Makes the connection's job scheduler match its row: there when it has a
   * schedule, is ACTIVE and its plugin syncs; gone otherwise (or when the row
   * is). One sync at a time per connection (an advisory lock across
   * processes), each deciding on the row as committed when it holds the
   * lock: a worker's restore that listed a connection before a gateway
   * paused or deleted it cannot put back the scheduler the gateway removed.
   */
  private async syncSchedule(id: string): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('rapport.connection.schedule.' || $1, 0))`, [id]);
      const [row]: ConnectionRecord[] = await manager.query(`SELECT ${COLUMNS} FROM connections WHERE id = $1`, [id]);
      const plugin = row && this.registry.find(row.connector);
      if (row?.schedule && row.status === 'ACTIVE' && plugin?.status === 'LOADED' && plugin.manifest.sync) await this.schedules.upsert(id, row.schedule);
      else await this.schedules.remove(id);
    });
  }

  /** Validates a config against the plugin's schema, in the plugin's warm host; returns it with defaults applied. */
  private async validateConfig(
    manifest: PluginManifest,
    plugin: RunnablePlugin,
    config: unknown,
  ): Promise<{ config: Record<string, unknown>; sourceKey?: string }> {
    let answer: unknown;
    try {
      answer = await this.hosts.call(plugin, { op: 'config', config: config ?? {} });
    } catch (error) {
      if (!(error instanceof PluginCallError)) throw error;
      const code = error.kind === 'deadline' ? ErrorCode.PLUGIN_TIMEOUT : ErrorCode.CONNECTOR_UNAVAILABLE;
      throw fail(code, { detail: `connector "${manifest.id}" could not validate the config: ${error.message}` }, 'config');
    }
    const verdict = configVerdictSchema.safeParse(answer);
    if (!verdict.success || (verdict.data.ok && JSON.stringify(verdict.data.config).length > MAX_CONFIG_BYTES)) {
      throw fail(
        'CONNECTOR_UNAVAILABLE',
        { detail: `connector "${manifest.id}" answered the config validation with something that is not a verdict` },
        'config',
      );
    }
    if (!verdict.data.ok) {
      const issues = verdict.data.issues.map((issue) => ({ field: issue.field ? `config.${issue.field}` : 'config', message: issue.message }));
      throw fail(
        'CONNECTOR_CONFIG_INVALID',
        { detail: `invalid config for connector "${manifest.id}": ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}` },
        issues[0].field,
        { issues },
      );
    }
    const { sourceKey } = verdict.data;
    // The source key is stored in clear and names every interaction's source, which narrower keys read: never a credential.
    if (sourceKey !== undefined && secretValues(verdict.data.config, manifest.secretKeys).some((secret) => sourceKey.includes(secret))) {
      throw fail(
        'CONNECTOR_CONFIG_INVALID',
        { detail: `connector "${manifest.id}" derived its source key from a secret setting; a source key must name the remote account, not a credential` },
        'config',
      );
    }
    return { config: verdict.data.config, sourceKey };
  }

  /**
   * A config that changes an endpoint (where the credentials go: a base URL, a host…)
   * must carry every stored secret itself; otherwise whoever may edit the connection
   * could point it at their own listener and receive the stored credentials.
   */
  private requireSecretsOnEndpointChange(
    manifest: PluginManifest,
    stored: Record<string, unknown>,
    sent: Record<string, unknown>,
    next: Record<string, unknown>,
    secretPaths: string[],
  ): void {
    // The stored config was validated when written, so its defaults are applied as in `next`.
    const changed = manifest.endpointKeys.filter((path) => JSON.stringify(valueAt(stored, path)) !== JSON.stringify(valueAt(next, path)));
    if (changed.length === 0) return;
    const missing = secretPaths.filter((path) => {
      const held = valueAt(stored, path);
      const given = valueAt(sent, path);
      return held !== undefined && held !== null && (given === undefined || given === REDACTED);
    });
    if (missing.length === 0) return;
    const fields = missing.map((path) => `config.${path}`);
    throw fail(
      'SECRETS_REQUIRED',
      {
        detail: `changing ${changed.map((path) => `config.${path}`).join(', ')} changes where this connection sends its credentials: send ${fields.join(', ')} again in the same update (null removes an optional one)`,
      },
      fields[0],
      { secrets: fields, endpoints: changed.map((path) => `config.${path}`) },
    );
  }

  private checkSchedule(manifest: PluginManifest, schedule: string | null): string | null {
    if (schedule === null) return null;
    if (!manifest.sync)
      throw fail('VALIDATION_FAILED', { detail: `connector "${manifest.id}" is push-only (webhook); it has no sync to schedule` }, 'schedule');
    parseSchedule(schedule);
    return schedule.trim();
  }
}

/** The value at a dotted path of a config object; `undefined` when any step is missing. */
function valueAt(config: Record<string, unknown>, path: string): unknown {
  let value: unknown = config;
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** A copy of a config with the value at each secret path (dotted, through nested objects) that is set replaced by `[redacted]`. */
function redactPaths(config: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const dotted of paths) {
    const segments = dotted.split('.');
    let holder: unknown = copy;
    for (const segment of segments.slice(0, -1))
      holder = typeof holder === 'object' && holder !== null && !Array.isArray(holder) ? (holder as Record<string, unknown>)[segment] : undefined;
    const last = segments[segments.length - 1];
    if (typeof holder === 'object' && holder !== null && !Array.isArray(holder)) {
      const target = holder as Record<string, unknown>;
      if (target[last] !== undefined && target[last] !== null) target[last] = REDACTED;
    }
  }
  return copy;
}

/** A default phone country as given: an ISO 3166-1 alpha-2 code libphonenumber knows (any case), upper-cased; null stays null. */
function checkCountry(country: string | null): string | null {
  if (country === null) return null;
  const code = country.trim().toUpperCase();
  if (!isPhoneCountry(code))
    throw fail(
      'VALIDATION_FAILED',
      { detail: `defaultCountry: "${country.slice(0, 20)}" is not a two-letter ISO 3166-1 country code such as GB or US` },
      'defaultCountry',
    );
  return code;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 128) throw fail('VALIDATION_FAILED', { detail: 'name must be 1 to 128 characters' }, 'name');
  return trimmed;
}

/** The values (as text, of at least 4 characters) of the secret settings at `paths` (dotted) in `config`. */
function secretValues(config: Record<string, unknown>, paths: readonly string[]): string[] {
  const values: string[] = [];
  for (const path of paths) {
    let value: unknown = config;
    for (const part of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    if ((typeof value === 'string' || typeof value === 'number') && String(value).length >= 4) values.push(String(value));
  }
  return values;
}

/** JSON with every object's keys sorted: equal for equal configs whatever their keys' order (jsonb reorders them). */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

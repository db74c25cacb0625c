import type { DataSource } from 'typeorm';
import type { ZodType } from 'zod';
import { inTransaction } from '../../infra/database';
import { REDACTED, endpointKeys, parseConnectorConfig, redactSecrets, secretKeys, type ConnectorDefinition } from '../../connector-kit';
import { ErrorCode, RapportError } from '../../errors/catalog';
import type { Page } from '../../infra/page';
import { decodeCursor, encodeCursor } from '../../infra/cursor';
import { pageSize } from '../../infra/sql-filter';
import { CONNECTION_STATUSES, type ConnectionStatus } from './connection.entity';
import type { ConnectorRegistry } from './connector-registry';
import { SecretBox } from './secret-box';

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
}

/** Keeps a connection's pull schedule in the queue in step with its row. */
export interface ScheduleSink {
  upsert(connectionId: string, schedule: string): Promise<void>;
  remove(connectionId: string): Promise<void>;
}

/** A schedule as BullMQ's job scheduler takes it. */
export type ParsedSchedule = { every: number } | { pattern: string };

const COLUMNS = `id::text, connector, name, config, state, status, schedule, last_run_at AS "lastRunAt", last_error AS "lastError",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Validates a schedule: whole seconds (at least 1) or a 5- or 6-field cron pattern. */
export function parseSchedule(schedule: string, field = 'schedule'): ParsedSchedule {
  const text = schedule.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    if (seconds < 1 || seconds > 366 * 24 * 3600) throw new RapportError(ErrorCode.VALIDATION_FAILED, `${field}: an interval must be between 1 second and a year`, field);
    return { every: seconds * 1000 };
  }
  const fields = text.split(/\s+/);
  if ((fields.length === 5 || fields.length === 6) && fields.every((part) => /^[0-9A-Za-z*/,?#LW-]+$/.test(part))) return { pattern: text };
  throw new RapportError(ErrorCode.VALIDATION_FAILED, `${field}: "${schedule}" is neither an interval in seconds ("3600") nor a cron pattern ("0 * * * *")`, field);
}

/**
 * Connections: create, update and delete them, with the config validated
 * against the plugin's schema (errors name the field, as `config.<field>`) and
 * every secret field encrypted before it reaches the table.
 */
export class ConnectionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ConnectorRegistry,
    private readonly secrets: SecretBox,
    private readonly schedules: ScheduleSink,
  ) {}

  async get(id: string): Promise<ConnectionRecord | undefined> {
    if (!/^[1-9][0-9]{0,18}$/.test(id)) return undefined;
    const [row] = await this.dataSource.query(`SELECT ${COLUMNS} FROM connections WHERE id = $1`, [id]);
    return row;
  }

  async require(id: string, field = 'id'): Promise<ConnectionRecord> {
    const connection = await this.get(id);
    if (!connection) throw new RapportError(ErrorCode.NOT_FOUND, `no connection ${id}`, field);
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
      pageInfo: { hasNextPage: rows.length > first, hasPreviousPage: Boolean(args.after), startCursor: edges[0]?.cursor ?? null, endCursor: edges[edges.length - 1]?.cursor ?? null },
      totalCount: async () => (await this.dataSource.query(`SELECT count(*)::int AS count FROM connections`))[0].count,
    };
  }

  async create(input: CreateConnectionInput): Promise<ConnectionRecord> {
    const { definition } = this.registry.require(input.connector, 'connector');
    const name = checkName(input.name);
    const config = this.validateConfig(definition, input.config);
    const schedule = this.checkSchedule(definition, input.schedule ?? null);
    const status = input.status ?? 'ACTIVE';
    const stored = this.secrets.encryptPaths(config, secretKeys(definition.config));
    let row: ConnectionRecord;
    try {
      // In a transaction so the audit entry of the mutation commits with it.
      [row] = await inTransaction(this.dataSource, (manager) =>
        manager.query(
          `INSERT INTO connections (connector, name, config, schedule, status) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
          [definition.id, name, JSON.stringify(stored), schedule, status],
        ),
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new RapportError(ErrorCode.VALIDATION_FAILED, `a connection named "${name}" already exists`, 'name');
      throw error;
    }
    await this.syncSchedule(row);
    return row;
  }

  async update(id: string, input: UpdateConnectionInput): Promise<ConnectionRecord> {
    const current = await this.require(id);
    const { definition } = this.registry.require(current.connector, 'connector');
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (input.name != null) set('name', checkName(input.name));
    if (input.config != null) {
      const keys = secretKeys(definition.config);
      const kept = this.secrets.decryptPaths(current.config, keys);
      // A secret the client left out or echoed back redacted keeps its stored value; null removes it.
      const merged: Record<string, unknown> = { ...input.config };
      for (const key of keys.filter((k) => !k.includes('.'))) {
        if (merged[key] === undefined || merged[key] === REDACTED) merged[key] = kept[key];
        else if (merged[key] === null && !(definition.config.shape[key] as ZodType).safeParse(null).success) delete merged[key];
      }
      const config = this.validateConfig(definition, merged);
      this.requireSecretsOnEndpointChange(definition, kept, input.config, config, keys);
      set('config', JSON.stringify(this.secrets.encryptPaths(config, keys)));
    }
    if (input.schedule !== undefined) set('schedule', this.checkSchedule(definition, input.schedule === '' ? null : input.schedule));
    if (input.status != null) {
      if (!CONNECTION_STATUSES.includes(input.status)) throw new RapportError(ErrorCode.VALIDATION_FAILED, `status must be one of ${CONNECTION_STATUSES.join(', ')}`, 'status');
      set('status', input.status);
      if (input.status === 'ACTIVE') sets.push('last_error = NULL');
    }
    if (input.resetState) sets.push('state = NULL');
    if (sets.length === 0) return current;
    let row: ConnectionRecord;
    try {
      // TypeORM answers an UPDATE … RETURNING with [rows, affected].
      const [rows] = (await inTransaction(this.dataSource, (manager) =>
        manager.query(`UPDATE connections SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, params),
      )) as [ConnectionRecord[], number];
      row = rows[0]!;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new RapportError(ErrorCode.VALIDATION_FAILED, `a connection named "${input.name}" already exists`, 'name');
      throw error;
    }
    await this.syncSchedule(row);
    return row;
  }

  /** Deletes a connection, its runs (cascade) and its schedule. Interactions it delivered stay. */
  async delete(id: string): Promise<ConnectionRecord> {
    const current = await this.require(id);
    await this.schedules.remove(id);
    await inTransaction(this.dataSource, (manager) => manager.query(`DELETE FROM connections WHERE id = $1`, [id]));
    return current;
  }

  /** The config a plugin receives: secrets decrypted, validated again (defaults applied). */
  decryptedConfig(connection: ConnectionRecord, definition: ConnectorDefinition): Record<string, unknown> {
    const plain = this.secrets.decryptPaths(connection.config, secretKeys(definition.config));
    const parsed = parseConnectorConfig(definition.config, plain);
    if (!parsed.ok) {
      const issue = parsed.issues[0]!;
      throw new RapportError(ErrorCode.CONNECTOR_CONFIG_INVALID, `connection ${connection.id}: config.${issue.field}: ${issue.message}`, `config.${issue.field}`);
    }
    return parsed.config as Record<string, unknown>;
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
    return plugin?.status === 'LOADED' ? redactSecrets(plugin.definition.config, base) : base;
  }

  /** Saves the cursor; called only after the batches it covers are committed. */
  async saveState(id: string, state: unknown): Promise<void> {
    await this.dataSource.query(`UPDATE connections SET state = $2, updated_at = now() WHERE id = $1`, [id, JSON.stringify(state ?? null)]);
  }

  async recordRunEnd(id: string, outcome: { needsAttention?: string }): Promise<void> {
    if (outcome.needsAttention) {
      await this.dataSource.query(`UPDATE connections SET last_run_at = now(), status = 'NEEDS_ATTENTION', last_error = $2 WHERE id = $1`, [id, outcome.needsAttention]);
    } else {
      await this.dataSource.query(`UPDATE connections SET last_run_at = now() WHERE id = $1`, [id]);
    }
  }

  /** Re-registers every ACTIVE connection's schedule (at worker start). */
  async restoreSchedules(): Promise<void> {
    const rows: ConnectionRecord[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM connections WHERE schedule IS NOT NULL`);
    for (const row of rows) await this.syncSchedule(row);
  }

  private async syncSchedule(row: ConnectionRecord): Promise<void> {
    const plugin = this.registry.find(row.connector);
    if (row.schedule && row.status === 'ACTIVE' && plugin?.status === 'LOADED' && plugin.definition.sync) await this.schedules.upsert(row.id, row.schedule);
    else await this.schedules.remove(row.id);
  }

  private validateConfig(definition: ConnectorDefinition, config: unknown): Record<string, unknown> {
    const parsed = parseConnectorConfig(definition.config, config ?? {});
    if (!parsed.ok) {
      const issues = parsed.issues.map((issue) => ({ field: issue.field ? `config.${issue.field}` : 'config', message: issue.message }));
      throw new RapportError(
        ErrorCode.CONNECTOR_CONFIG_INVALID,
        `invalid config for connector "${definition.id}": ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
        issues[0]!.field,
        { issues },
      );
    }
    return parsed.config as Record<string, unknown>;
  }

  /**
   * A config that changes an endpoint (where the credentials go: a base URL, a host…)
   * must carry every stored secret itself; otherwise whoever may edit the connection
   * could point it at their own listener and receive the stored credentials.
   */
  private requireSecretsOnEndpointChange(
    definition: ConnectorDefinition,
    stored: Record<string, unknown>,
    sent: Record<string, unknown>,
    next: Record<string, unknown>,
    secretPaths: string[],
  ): void {
    const before = parseConnectorConfig(definition.config, stored);
    const previous = before.ok ? (before.config as Record<string, unknown>) : stored;
    const changed = endpointKeys(definition.config).filter((path) => JSON.stringify(valueAt(previous, path)) !== JSON.stringify(valueAt(next, path)));
    if (changed.length === 0) return;
    const missing = secretPaths.filter((path) => {
      const held = valueAt(stored, path);
      const given = valueAt(sent, path);
      return held !== undefined && held !== null && (given === undefined || given === REDACTED);
    });
    if (missing.length === 0) return;
    const fields = missing.map((path) => `config.${path}`);
    throw new RapportError(
      ErrorCode.SECRETS_REQUIRED,
      `changing ${changed.map((path) => `config.${path}`).join(', ')} changes where this connection sends its credentials: send ${fields.join(', ')} again in the same update (null removes an optional one)`,
      fields[0],
      { secrets: fields, endpoints: changed.map((path) => `config.${path}`) },
    );
  }

  private checkSchedule(definition: ConnectorDefinition, schedule: string | null): string | null {
    if (schedule === null) return null;
    if (!definition.sync) throw new RapportError(ErrorCode.VALIDATION_FAILED, `connector "${definition.id}" is push-only (webhook); it has no sync to schedule`, 'schedule');
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

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 128) throw new RapportError(ErrorCode.VALIDATION_FAILED, 'name must be 1 to 128 characters', 'name');
  return trimmed;
}

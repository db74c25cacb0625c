import { createReadStream } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource } from 'typeorm';
import { ErrorCode } from '../../errors/catalog';
import { openPooledSession, type PooledSession } from '../../infra/database';
import type { Logger } from '../../infra/logger';
import { present } from '../../infra/present';
import { validateInteraction, type Direction, type UncheckedInteractionRow } from '../interactions';
import { identifierKey, IdentityRaceError, resolveStagedIdentifiers, SERIALIZE_AFTER_ATTEMPT, type Identifier, type TombstoneHasher } from '../customers';
import { outboxInsertSql } from '../events';
import type { RunError, RunStatus } from './connector-run.service';
import type { ConnectorRunService } from './connector-run.service';
import { csvRecords, ndjsonLines } from './csv';

export type ImportFormat = 'csv' | 'ndjson';

/**
 * Which column (CSV header, or NDJSON key — dotted for nested keys) fills which
 * field. Fields: `email`, `phone`, `identifier.<type>` (any namespace), `channel`,
 * `type`, `occurredAt`, `value`, `currency`, `direction`, `sentiment`,
 * `externalId`, `source`, `properties.<key>`. A row's customer is its first
 * non-empty identifier, in mapping order.
 *
 * @example { email: 'Email', occurredAt: 'date', externalId: 'order_id', value: 'total', 'properties.sku': 'sku' }
 */
export type ImportMapping = Record<string, string>;

/** Options of a file import. */
export interface FileImportOptions {
  /** @defaultValue from the file extension (`.ndjson`/`.jsonl`: ndjson, else csv) */
  format?: ImportFormat;
  /** @defaultValue columns named like the fields (`email`, `occurred_at` or `occurredAt`, `external_id`…); other columns become properties */
  mapping?: ImportMapping;
  /** `source` of every interaction unless mapped. @defaultValue 'import' */
  source?: string;
  /** Channel of every row unless mapped. */
  channel?: string;
  /** Type of every row unless mapped. */
  type?: string;
  /** Rows per staged batch (COPY, then one merge). @defaultValue 20_000 */
  batchRows?: number;
  /**
   * Batches merged at once, each on its own connection with its own staging
   * table: Postgres merges one while it copies the next, and uses more than
   * one core. Batches may then commit out of file order. @defaultValue 2
   */
  connections?: number;
  /** The connection this import belongs to, if any. */
  connectionId?: string | null;
  /** A QUEUED run to use instead of creating one. */
  runId?: string;
  /** Called after each committed batch. */
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
}

export interface ImportSummary {
  runId: string;
  status: RunStatus;
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: RunError[];
  seconds: number;
  error?: string;
}

/** A file that cannot be imported at all: the run fails with this reason and nothing is written. */
export class ImportFileError extends Error {
  readonly code = ErrorCode.IMPORT_FAILED;
}

const KNOWN_FIELDS = ['channel', 'type', 'occurredAt', 'value', 'currency', 'direction', 'sentiment', 'externalId', 'source'] as const;
type KnownField = (typeof KNOWN_FIELDS)[number];
const AUTO_NAMES: Record<string, string> = {
  email: 'email',
  phone: 'phone',
  channel: 'channel',
  type: 'type',
  occurred_at: 'occurredAt',
  occurredat: 'occurredAt',
  value: 'value',
  currency: 'currency',
  direction: 'direction',
  sentiment: 'sentiment',
  external_id: 'externalId',
  externalid: 'externalId',
  source: 'source',
};
const STAGING_COLUMNS = [
  'line',
  'id_type',
  'id_value',
  'channel',
  'type',
  'direction',
  'occurred_at',
  'value',
  'currency',
  'sentiment',
  'properties',
  'source',
  'external_id',
];
const MAX_KEPT_ERRORS = 100;

type Getter = (record: RecordView) => string | undefined;
interface RecordView {
  fields?: string[];
  object?: Record<string, unknown>;
}
interface Plan {
  identifiers: { type: string; get: Getter }[];
  known: Partial<Record<KnownField, Getter>>;
  properties: { key: string; get: Getter }[];
  expectedColumns?: number;
}

/** The `interactions.imported` event of a batch (none when it inserted nothing), from the merge's `ins` rows. */
const IMPORTED_BATCH_ROWS = `SELECT 0::bigint AS customer_id,
    jsonb_build_object('inserted', count(*), 'customers', count(DISTINCT customer_id), 'sources', jsonb_agg(DISTINCT source)) AS payload
  FROM ins HAVING count(*) > 0`;

/**
 * Bulk import of interactions from CSV or NDJSON, streaming in constant memory:
 * each row is checked in JavaScript (bad rows are reported with their line and
 * reason and skipped), good rows are COPYed into a session-local staging table,
 * and every `batchRows` rows one set-based merge resolves customers by identifier
 * (creating the missing ones), inserts the interactions idempotently on
 * (source, external_id) and marks the touched customers dirty — all in one
 * transaction per batch. The run in `connector_runs` shows progress as it goes.
 */
export class FileImportService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly runs: ConnectorRunService,
    private readonly logger: Logger,
    /** Where uploaded files wait for the `import.file` job. */
    readonly uploadDir: string,
    private readonly options: {
      /** How erased identifiers are hashed, to refuse them as the API does (IDENTIFIER_ERASED). */
      tombstones?: TombstoneHasher;
      /** The writer's clock: rows dated beyond it (plus the allowed skew) are refused, as by the API. */
      clock?: () => Date;
    } = {},
  ) {}

  async importFile(file: string, options: FileImportOptions = {}): Promise<ImportSummary> {
    const started = Date.now();
    const format = options.format ?? formatOf(file);
    const details = { file: path.basename(file), format };
    const runId = options.runId ?? (await this.runs.start('IMPORT', options.connectionId ?? null, details));
    // A queued upload keeps the file name it was uploaded under.
    if (options.runId) await this.runs.setStatus(runId, 'RUNNING', { format });
    const totals = { received: 0, accepted: 0, duplicates: 0, rejected: 0, errors: [] as RunError[] };
    const summary = (status: RunStatus, error?: string): ImportSummary => ({
      runId,
      status,
      ...totals,
      seconds: (Date.now() - started) / 1000,
      ...(error ? { error } : {}),
    });

    const lanes: (PooledSession & { busy: Promise<void> })[] = [];
    const settled = () => Promise.all(lanes.map((lane) => lane.busy.catch(() => undefined)));
    try {
      const size = await readableSize(file);
      const connections = Math.max(1, Math.min(options.connections ?? 2, 8));
      for (let i = 0; i < connections; i++) {
        const session = await openPooledSession(this.dataSource);
        const { client } = session;
        lanes.push({ ...session, busy: Promise.resolve() });
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS import_staging (line integer, id_type text, id_value text, channel text, type text, direction text,
          occurred_at timestamptz, value numeric, currency text, sentiment real, properties jsonb, source text, external_id text)`);
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS import_resolved (id_type text, id_value text, customer_id bigint)`);
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS import_touched (customer_id bigint, inserted integer)`);
        await client.query('TRUNCATE import_staging, import_resolved, import_touched');
        // The merge hash-joins a whole batch against the identifiers; give it room (this session only).
        await client.query(`SET work_mem = '64MB'`);
      }

      const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
      let bytesRead = 0;
      const chunks = (async function* () {
        for await (const chunk of stream as AsyncIterable<string>) {
          if (bytesRead === 0 && chunk.includes('\u0000'))
            throw new ImportFileError('the file is not text (it contains NUL bytes); export it as UTF-8 CSV or NDJSON');
          bytesRead += Buffer.byteLength(chunk);
          yield chunk;
        }
      })();

      const batchRows = options.batchRows ?? 20_000;
      let staged: string[] = [];
      let stagedCount = 0;
      // The batch's identifiers (by key) and the lines that use each, for resolution and its rejections.
      let stagedIdentifiers = new Map<string, { identifier: Identifier; lines: number[] }>();
      const reported = { received: 0, rejected: 0 };
      let newErrors: RunError[] = [];
      let nextLane = 0;
      // Commits the staged rows (if any) on the next lane and reports every count since the last report on
      // the run. It runs while the next batches are parsed: the database and the parser work at the same time.
      const flush = async () => {
        const lane = lanes[nextLane];
        nextLane = (nextLane + 1) % lanes.length;
        // The lane's previous batch must be done (a failure there ends the import here).
        await lane.busy;
        const rows = staged;
        const identifiers = stagedIdentifiers;
        stagedIdentifiers = new Map();
        const count = stagedCount;
        const report = { received: totals.received - reported.received, rejected: totals.rejected - reported.rejected, errors: newErrors, bytesRead };
        reported.received = totals.received;
        reported.rejected = totals.rejected;
        newErrors = [];
        staged = [];
        stagedCount = 0;
        lane.busy = (async () => {
          let inserted = 0;
          let unresolved: RunError[] = [];
          let unresolvedRows = 0;
          if (count > 0) ({ inserted, unresolved, unresolvedRows } = await this.merge(lane, rows.join(''), identifiers));
          totals.accepted += inserted;
          totals.duplicates += count - unresolvedRows - inserted;
          totals.rejected += unresolvedRows;
          for (const error of unresolved) if (totals.errors.length < MAX_KEPT_ERRORS) totals.errors.push(error);
          await this.runs.addCounts(
            runId,
            {
              received: report.received,
              accepted: inserted,
              duplicates: count - unresolvedRows - inserted,
              rejected: report.rejected + unresolvedRows,
              errors: [...report.errors, ...unresolved],
            },
            { bytesRead: report.bytesRead },
          );
          options.onProgress?.({
            bytesRead: report.bytesRead,
            totalBytes: size,
            rows: reported.received,
            accepted: totals.accepted,
            duplicates: totals.duplicates,
            rejected: totals.rejected,
          });
        })();
        // Keeps an early failure from being reported as unhandled before it is awaited.
        lane.busy.catch(() => undefined);
      };
      const reject = (line: number, code: string, message: string) => {
        totals.rejected++;
        if (totals.errors.length < MAX_KEPT_ERRORS) {
          const error = { line, code, message: `line ${line}: ${message}` };
          totals.errors.push(error);
          newErrors.push(error);
        }
      };

      let plan: Plan | undefined;
      const records = format === 'csv' ? csvRecordViews(chunks) : ndjsonRecordViews(chunks);
      for await (const item of records) {
        if ('header' in item) {
          plan = compilePlan(options, item.header);
          continue;
        }
        plan ??= compilePlan(options, undefined);
        totals.received++;
        if ('error' in item) reject(item.line, ErrorCode.INVALID_FIELD, item.error);
        else {
          const row = stageRow(plan, item.view, item.line, options, this.options.clock?.() ?? new Date());
          if ('copy' in row) {
            staged.push(row.copy);
            stagedCount++;
            const key = identifierKey(row.identifier);
            const entry = stagedIdentifiers.get(key);
            if (entry) entry.lines.push(item.line);
            else stagedIdentifiers.set(key, { identifier: row.identifier, lines: [item.line] });
          } else reject(item.line, row.code, row.message);
        }
        if (stagedCount >= batchRows) await flush();
      }
      if (!plan && format === 'csv') throw new ImportFileError('the file is empty: a CSV import needs a header line');
      await flush();
      // Every batch must have committed; the first failure ends the import.
      for (const lane of lanes) await lane.busy;
      const status: RunStatus = totals.rejected > 0 && totals.accepted + totals.duplicates === 0 ? 'FAILED' : 'SUCCEEDED';
      const error = status === 'FAILED' ? 'every row was rejected; see errors' : undefined;
      await this.runs.finish(runId, status, error ?? null, { bytesRead, seconds: (Date.now() - started) / 1000 });
      return summary(status, error);
    } catch (error) {
      const message = error instanceof ImportFileError ? error.message : `import failed: ${error instanceof Error ? error.message : String(error)}`;
      if (!(error instanceof ImportFileError)) this.logger.error({ err: error, runId }, 'file import failed');
      // The other lanes' batches end (commit or fail) first, so the run's counts are final when it is marked.
      await settled();
      await this.runs.finish(runId, 'FAILED', message);
      return summary('FAILED', message);
    } finally {
      await settled();
      for (const lane of lanes) {
        // The connection goes back to the pool with the server's own settings.
        await lane.client.query('RESET work_mem').catch(() => undefined);
        await lane.release();
      }
    }
  }

  /** Runs the `import.file` job: the uploaded file of a QUEUED run, deleted afterwards. */
  async processQueuedImport(runId: string): Promise<ImportSummary | { skipped: true }> {
    const run = await this.runs.get(runId);
    if (!run || run.status !== 'QUEUED') return { skipped: true };
    const upload = run.details as { upload?: string; options?: FileImportOptions };
    if (!upload.upload) {
      await this.runs.finish(runId, 'FAILED', 'the run has no uploaded file');
      return { skipped: true };
    }
    try {
      return await this.importFile(path.join(this.uploadDir, upload.upload), { ...upload.options, runId, connectionId: run.connectionId });
    } finally {
      await unlink(path.join(this.uploadDir, upload.upload)).catch(() => undefined);
    }
  }

  /**
   * A QUEUED run whose job could not be enqueued (the queue is away): FAILED
   * with `reason` and its file deleted, so an upload the client was told to
   * retry is not left behind as a run that never moves.
   */
  async abandonUpload(runId: string, reason: string): Promise<void> {
    const run = await this.runs.get(runId);
    await this.runs.finish(runId, 'FAILED', reason);
    const upload = (run?.details as { upload?: string } | undefined)?.upload;
    if (upload) await unlink(path.join(this.uploadDir, upload)).catch(() => undefined);
  }

  /**
   * Writes one staged batch in one transaction on the lane's connection:
   * COPYs the rows into the session's staging table, resolves their
   * identifiers with the writer's identity resolution
   * ({@link resolveStagedIdentifiers}: known identifiers in one join, new
   * ones through the API's resolution, which creates missing customers and
   * refuses erased identifiers), then one set-based merge inserts the
   * interactions idempotently on (source, external_id), publishes one
   * interactions.imported event and marks the touched customers dirty. Returns how
   * many interactions were inserted, and the rows refused by resolution.
   *
   * Dirty marks: inserting an interaction takes a `FOR KEY SHARE` lock on its
   * customer (the foreign key check) until commit, and a refresh locks the
   * customers it clears `FOR UPDATE SKIP LOCKED`, so no refresh can clear a
   * customer whose new rows are not committed yet. A refresh that locked the
   * customer first makes the insert wait until it committed; the UPDATE that
   * marks the customers comes after the insert, in a statement of its own, so
   * its snapshot sees that refresh's cleared mark and sets it again. Only
   * customers not yet dirty are written.
   */
  private async merge(
    lane: PooledSession,
    copyText: string,
    identifiers: Map<string, { identifier: Identifier; lines: number[] }>,
  ): Promise<{ inserted: number; unresolved: RunError[]; unresolvedRows: number }> {
    const statements = `
      ANALYZE import_resolved;
      WITH ins AS (
          INSERT INTO interactions (customer_id, channel, type, direction, occurred_at, value, currency, sentiment, properties, source, external_id)
          SELECT r.customer_id, s.channel, s.type, s.direction, s.occurred_at, s.value, s.currency, s.sentiment, s.properties, s.source, s.external_id
            FROM import_staging s JOIN import_resolved r ON r.id_type = s.id_type AND r.id_value = s.id_value
          ON CONFLICT (source, external_id) DO NOTHING
          RETURNING id, customer_id, source),
        -- One event per batch: an event per imported row would double what a backfill writes.
        published AS (${outboxInsertSql('interactions.imported', IMPORTED_BATCH_ROWS)})
        INSERT INTO import_touched (customer_id, inserted) SELECT customer_id, count(*) FROM ins GROUP BY customer_id;
      -- Locked in id order (NO KEY UPDATE: it does not wait for the key-share locks of other lanes' inserts).
      UPDATE customers c SET dirty_since = now()
        FROM (SELECT id FROM customers WHERE id IN (SELECT customer_id FROM import_touched) AND dirty_since IS NULL
               ORDER BY id FOR NO KEY UPDATE) marked
       WHERE c.id = marked.id;
      SELECT COALESCE(sum(inserted), 0)::int AS inserted FROM import_touched;`;
    for (let attempt = 1; ; attempt++) {
      await lane.client.query('BEGIN');
      try {
        await lane.client.query('TRUNCATE import_staging, import_resolved, import_touched');
        const copy = lane.client.query(copyFrom(`COPY import_staging (${STAGING_COLUMNS.join(', ')}) FROM STDIN`));
        await new Promise<void>((resolve, reject) => {
          copy.on('error', reject);
          copy.on('finish', resolve);
          copy.end(copyText);
        });
        const refused = await resolveStagedIdentifiers(
          lane.manager,
          { staged: 'import_staging', resolved: 'import_resolved' },
          (key) => identifiers.get(key)?.identifier,
          {
            serialize: attempt >= SERIALIZE_AFTER_ATTEMPT,
            adoptLostRaces: true,
            tombstones: this.options.tombstones,
          },
        );
        const unresolved: RunError[] = [];
        let unresolvedRows = 0;
        for (const [key, refusal] of refused) {
          const { lines } = present(identifiers.get(key), 'the lines of a refused identifier');
          unresolvedRows += lines.length;
          for (const line of lines) {
            if (unresolved.length < MAX_KEPT_ERRORS) unresolved.push({ line, code: refusal.code, message: `line ${line}: ${refusal.message}` });
          }
        }
        const results = (await lane.client.query(statements)) as unknown as { rows: { inserted?: number }[] }[];
        const inserted = results.map((r) => r.rows[0]?.inserted).find((n) => n !== undefined);
        await lane.client.query('COMMIT');
        // The last statement of the batch selects the count.
        return { inserted: present(inserted, 'the inserted count of an import batch'), unresolved, unresolvedRows };
      } catch (error) {
        await lane.client.query('ROLLBACK');
        const code = (error as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (error as { code?: string }).code;
        const retryable = error instanceof IdentityRaceError || code === '40P01' || code === '40001' || code === '23505';
        if (retryable && attempt < 5) continue;
        throw error;
      }
    }
  }

  /** Saves an uploaded body for the `import.file` job and creates its QUEUED run. */
  async queueUpload(body: Buffer, options: FileImportOptions & { fileName?: string }): Promise<string> {
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(this.uploadDir, { recursive: true });
    const format = options.format ?? (options.fileName ? formatOf(options.fileName) : 'csv');
    const upload = `${Date.now()}-${Math.random().toString(36).slice(2)}.${format}`;
    await writeFile(path.join(this.uploadDir, upload), body, { mode: 0o600 });
    const { onProgress: _ignored, runId: _run, ...kept } = options;
    return this.runs.start(
      'IMPORT',
      options.connectionId ?? null,
      { file: options.fileName ?? upload, format, upload, options: { ...kept, format } },
      'QUEUED',
    );
  }
}

function formatOf(file: string): ImportFormat {
  return /\.(nd)?jsonl?$/i.test(file) || /\.ndjson$/i.test(file) ? 'ndjson' : 'csv';
}

async function readableSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new ImportFileError(`${file} is not a file`);
    const handle = await open(file, 'r');
    await handle.close();
    return info.size;
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    throw new ImportFileError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

type Item = { header: string[] } | { line: number; view: RecordView } | { line: number; error: string };

async function* csvRecordViews(chunks: AsyncIterable<string>): AsyncGenerator<Item> {
  let header: string[] | undefined;
  for await (const record of csvRecords(chunks)) {
    if (!header) {
      header = record.fields.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
      if (header.every((name) => name === '')) throw new ImportFileError('the first line must be a header naming the columns');
      yield { header };
      continue;
    }
    if (record.fields.length !== header.length) {
      yield { line: record.line, error: `has ${record.fields.length} columns; the header has ${header.length}` };
      continue;
    }
    yield { line: record.line, view: { fields: record.fields } };
  }
}

async function* ndjsonRecordViews(chunks: AsyncIterable<string>): AsyncGenerator<Item> {
  for await (const { line, text } of ndjsonLines(chunks)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, error: 'is not valid JSON' };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, error: 'must be a JSON object' };
    else yield { line, view: { object: value as Record<string, unknown> } };
  }
}

function compilePlan(options: FileImportOptions, header: string[] | undefined): Plan {
  const getter = (column: string): Getter => {
    if (header) {
      const index = header.indexOf(column);
      if (index === -1) throw new ImportFileError(`column "${column}" is not in the header (${header.join(', ')})`);
      // A file with a header is a CSV file, whose records carry their fields.
      return (record) => present(record.fields, 'the fields of a CSV record')[index];
    }
    const segments = column.split('.');
    return (record) => {
      let value: unknown = record.object;
      for (const segment of segments) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[segment] : undefined;
      if (value === undefined || value === null) return undefined;
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    };
  };
  let mapping = options.mapping;
  if (!mapping || Object.keys(mapping).length === 0) {
    if (!header) {
      // NDJSON without a mapping: keys named like the fields.
      mapping = {
        email: 'email',
        phone: 'phone',
        channel: 'channel',
        type: 'type',
        occurredAt: 'occurredAt',
        value: 'value',
        currency: 'currency',
        direction: 'direction',
        sentiment: 'sentiment',
        externalId: 'externalId',
        source: 'source',
      };
      const plan = compileMapping(mapping, getter, header);
      return plan;
    }
    mapping = {};
    for (const column of header) {
      const field = AUTO_NAMES[column.toLowerCase()];
      mapping[field ?? `properties.${column}`] = column;
    }
  }
  const plan = compileMapping(mapping, getter, header);
  if (plan.identifiers.length === 0) throw new ImportFileError('the mapping names no identifier column: map email, phone or identifier.<type>');
  if (!plan.known.externalId) throw new ImportFileError('the mapping names no externalId column: every interaction needs a stable id for idempotency');
  if (!plan.known.occurredAt) throw new ImportFileError('the mapping names no occurredAt column');
  if (!plan.known.channel && !options.channel) throw new ImportFileError('map a channel column or pass a channel for every row');
  if (!plan.known.type && !options.type) throw new ImportFileError('map a type column or pass a type for every row');
  return plan;
}

function compileMapping(mapping: ImportMapping, getter: (column: string) => Getter, header: string[] | undefined): Plan {
  const plan: Plan = { identifiers: [], known: {}, properties: [], expectedColumns: header?.length };
  for (const [field, column] of Object.entries(mapping)) {
    if (field === 'email' || field === 'phone') plan.identifiers.push({ type: field, get: getter(column) });
    else if (field.startsWith('identifier.')) plan.identifiers.push({ type: field.slice('identifier.'.length).toLowerCase(), get: getter(column) });
    else if (field.startsWith('properties.')) plan.properties.push({ key: field.slice('properties.'.length), get: getter(column) });
    else if ((KNOWN_FIELDS as readonly string[]).includes(field)) plan.known[field as KnownField] = getter(column);
    else
      throw new ImportFileError(
        `unknown field "${field}" in the mapping; fields: email, phone, identifier.<type>, ${KNOWN_FIELDS.join(', ')}, properties.<key>`,
      );
  }
  return plan;
}

function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * Checks one row with the interaction writer's own validation
 * ({@link validateInteraction}: the same checks, codes and messages as the
 * API and connector batches); returns its COPY line, or why it is rejected.
 */
function stageRow(
  plan: Plan,
  view: RecordView,
  line: number,
  options: FileImportOptions,
  now: Date,
): { copy: string; identifier: Identifier } | { code: string; message: string } {
  const text = (get: Getter | undefined) => {
    const value = get?.(view)?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  // A row's customer is its first non-empty identifier, in mapping order.
  let identifier: { type: string; value: string } | undefined;
  for (const candidate of plan.identifiers) {
    const raw = text(candidate.get);
    if (raw === undefined) continue;
    identifier = { type: candidate.type, value: raw };
    break;
  }
  if (!identifier)
    return {
      code: ErrorCode.INVALID_IDENTIFIER,
      message: `no identifier: ${plan.identifiers.map((i) => i.type).join(', ')} ${plan.identifiers.length > 1 ? 'are all' : 'is'} empty`,
    };

  const occurredText = text(plan.known.occurredAt);
  const number = (value: string | undefined) => (value === undefined ? null : Number(value));
  let properties: Record<string, string> | undefined;
  if (plan.properties.length > 0) {
    properties = {};
    for (const property of plan.properties) {
      const v = text(property.get);
      if (v !== undefined) properties[property.key] = v;
    }
  }
  const row: UncheckedInteractionRow = {
    customer: { identifiers: [identifier] },
    channel: text(plan.known.channel) ?? options.channel,
    type: text(plan.known.type) ?? options.type,
    // Dates only as ISO 8601 (a CSV's "03/04/2025" is ambiguous).
    occurredAt: occurredText !== undefined && /^\d{4}-\d{2}-\d{2}/.test(occurredText) ? new Date(occurredText) : (occurredText as unknown as Date),
    value: number(text(plan.known.value)),
    currency: text(plan.known.currency) ?? null,
    direction: (text(plan.known.direction)?.toUpperCase() ?? null) as Direction | null,
    sentiment: number(text(plan.known.sentiment)),
    properties,
    source: text(plan.known.source) ?? options.source ?? 'import',
    externalId: text(plan.known.externalId),
  };
  const checked = validateInteraction(row, line, now);
  if ('errors' in checked) {
    // A rejected row carries at least one error.
    const first = present(checked.errors[0], `the error of rejected line ${line}`);
    return { code: first.code, message: first.message };
  }
  // The demand is built from the one identifier above.
  const stagedIdentifier = present(checked.demand.identifiers?.[0], `the identifier of line ${line}`);
  const copy =
    [
      String(line),
      copyText(stagedIdentifier.type),
      copyText(stagedIdentifier.value),
      copyText(checked.channel),
      copyText(checked.type),
      copyText(checked.direction),
      checked.occurredAt.toISOString(),
      checked.value === null ? '\\N' : String(checked.value),
      copyText(checked.currency),
      checked.sentiment === null ? '\\N' : String(checked.sentiment),
      copyText(JSON.stringify(checked.properties)),
      copyText(checked.source),
      copyText(checked.externalId),
    ].join('\t') + '\n';
  return { copy, identifier: stagedIdentifier };
}

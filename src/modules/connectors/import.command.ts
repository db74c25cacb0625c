import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import type { Logger } from '../../infra/logger';
import { ConnectorRunService } from './connector-run.service';
import { FileImportService, type ImportFormat, type ImportMapping, type ImportProgress } from './file-import.service';

export const IMPORT_USAGE = `Usage: rapport import <file> [options]

Imports interactions from a CSV (with a header line) or NDJSON file, streaming.
  --format csv|ndjson     default: from the extension (.ndjson/.jsonl: ndjson)
  --map field=column      repeatable; fields: email, phone, identifier.<type>, channel, type,
                          occurredAt, value, currency, direction, sentiment, externalId, source,
                          properties.<key>. Default: columns named like the fields
                          (occurred_at, external_id…), other columns become properties.
  --source S              source of every interaction unless mapped (default: import)
  --channel C, --type T   channel/type of every row unless mapped
  --batch N               rows per staged batch (default 20000)`;

/** Parses `rapport import` arguments; throws with a message for the user. */
export function parseImportArgs(args: string[]): {
  file: string;
  format?: ImportFormat;
  mapping?: ImportMapping;
  source?: string;
  channel?: string;
  type?: string;
  batchRows?: number;
} {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      map: { type: 'string', multiple: true },
      source: { type: 'string' },
      channel: { type: 'string' },
      type: { type: 'string' },
      batch: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new Error(`give exactly one file\n\n${IMPORT_USAGE}`);
  if (values.format !== undefined && values.format !== 'csv' && values.format !== 'ndjson') throw new Error('--format must be csv or ndjson');
  let mapping: ImportMapping | undefined;
  for (const entry of values.map ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) throw new Error(`--map takes field=column, got "${entry}"`);
    (mapping ??= {})[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  const batchRows = values.batch === undefined ? undefined : Number(values.batch);
  if (batchRows !== undefined && (!Number.isInteger(batchRows) || batchRows < 1)) throw new Error('--batch must be a positive integer');
  return {
    file: positionals[0],
    format: values.format as ImportFormat | undefined,
    mapping,
    source: values.source,
    channel: values.channel,
    type: values.type,
    batchRows,
  };
}

/** Draws a progress bar on a terminal, or prints a line every few seconds otherwise. */
function progressReporter(stream: NodeJS.WriteStream): (progress: ImportProgress) => void {
  let lastLine = 0;
  return (p) => {
    const fraction = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 0;
    const text = `${(fraction * 100).toFixed(0).padStart(3)}% ${p.rows.toLocaleString('en-US')} rows · ${p.accepted.toLocaleString('en-US')} accepted · ${p.duplicates.toLocaleString('en-US')} duplicates · ${p.rejected.toLocaleString('en-US')} rejected`;
    if (stream.isTTY) {
      const width = 24;
      const filled = Math.round(fraction * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
    } else if (Date.now() - lastLine > 2_000 || fraction === 1) {
      lastLine = Date.now();
      stream.write(`${text}\n`);
    }
  };
}

/** Runs `rapport import` against an open database; returns the process exit code. */
export async function runImportCommand(args: string[], dataSource: DataSource, logger: Logger): Promise<number> {
  let parsed: ReturnType<typeof parseImportArgs>;
  try {
    parsed = parseImportArgs(args);
  } catch (error) {
    console.error(`rapport import: ${(error as Error).message}`);
    return 2;
  }
  const imports = new FileImportService(dataSource, new ConnectorRunService(dataSource), logger, '');
  const report = progressReporter(process.stderr);
  const summary = await imports.importFile(parsed.file, { ...parsed, onProgress: report });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const rate = summary.seconds > 0 ? Math.round(summary.received / summary.seconds) : summary.received;
  console.log(
    `import run ${summary.runId}: ${summary.status} — ${summary.received.toLocaleString('en-US')} rows, ${summary.accepted.toLocaleString('en-US')} accepted, ` +
      `${summary.duplicates.toLocaleString('en-US')} duplicates, ${summary.rejected.toLocaleString('en-US')} rejected in ${summary.seconds.toFixed(1)} s (${rate.toLocaleString('en-US')} rows/s)`,
  );
  if (summary.error) console.log(`reason: ${summary.error}`);
  for (const error of summary.errors.slice(0, 10)) console.log(`  ${error.message}`);
  if (summary.rejected > 10)
    console.log(`  … ${summary.rejected - Math.min(10, summary.errors.length)} more rejected rows (the run keeps the first ${summary.errors.length})`);
  return summary.status === 'FAILED' ? 1 : 0;
}

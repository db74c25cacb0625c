import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** One value in COPY text format. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Streams rows into a table with COPY (the floor every bulk path is measured against). */
export async function copyRows(client: PoolClient, table: string, columns: string[], rows: Iterable<unknown[]>): Promise<number> {
  let count = 0;
  function* lines() {
    let chunk: string[] = [];
    for (const row of rows) {
      chunk.push(row.map(copyValue).join('\t'));
      count++;
      if (chunk.length >= 2_000) {
        yield chunk.join('\n') + '\n';
        chunk = [];
      }
    }
    if (chunk.length) yield chunk.join('\n') + '\n';
  }
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(lines()), stream);
  return count;
}

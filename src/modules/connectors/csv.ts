/** One record of a delimited or NDJSON file, with the line it starts on (1-based). */
export interface SourceRecord {
  line: number;
  fields: string[];
}

const QUOTE = 34;

/**
 * Streams RFC 4180 CSV records out of text chunks, in constant memory (one
 * record at a time): quoted fields may hold commas, doubled quotes and line
 * breaks; CRLF and LF both end a record; blank lines are skipped.
 */
export async function* csvRecords(chunks: AsyncIterable<string>, delimiter = ','): AsyncGenerator<SourceRecord> {
  let carry = '';
  let line = 0;
  let pending: string | null = null;
  let pendingLine = 0;
  let oddQuotes = false;
  const take = (physical: string): SourceRecord | undefined => {
    line++;
    if (physical.endsWith('\r')) physical = physical.slice(0, -1);
    if (pending === null) {
      if (physical.length === 0) return undefined;
      pending = physical;
      pendingLine = line;
    } else pending += '\n' + physical;
    if (countQuotes(physical) % 2 === 1) oddQuotes = !oddQuotes;
    if (oddQuotes) return undefined;
    const record = { line: pendingLine, fields: parseRecord(pending, delimiter) };
    pending = null;
    return record;
  };
  for await (const chunk of chunks) {
    const text = carry + chunk;
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      const record = take(text.slice(start, newline));
      start = newline + 1;
      if (record) yield record;
    }
    carry = text.slice(start);
  }
  if (carry.length > 0 || pending !== null) {
    const record = take(carry);
    if (record) yield record;
    else if (pending !== null) yield { line: pendingLine, fields: parseRecord(pending, delimiter) };
  }
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) count++;
  return count;
}

/** Splits one complete record into fields. */
export function parseRecord(text: string, delimiter = ','): string[] {
  if (!text.includes('"')) return text.split(delimiter);
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === QUOTE) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const close = text.indexOf('"', from);
        if (close === -1) {
          value += text.slice(from);
          i = text.length;
          break;
        }
        value += text.slice(from, close);
        if (text.charCodeAt(close + 1) === QUOTE) {
          value += '"';
          from = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      // Anything between the closing quote and the delimiter is kept, as most readers do.
      const next = text.indexOf(delimiter, i);
      value += text.slice(i, next === -1 ? text.length : next);
      fields.push(value);
      if (next === -1) return fields;
      i = next + 1;
    } else {
      const next = text.indexOf(delimiter, i);
      fields.push(text.slice(i, next === -1 ? text.length : next));
      if (next === -1) return fields;
      i = next + 1;
    }
  }
}

/** Streams NDJSON lines (one JSON value per line) with their line numbers; blank lines are skipped. */
export async function* ndjsonLines(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; text: string }> {
  let carry = '';
  let line = 0;
  for await (const chunk of chunks) {
    const text = carry + chunk;
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      line++;
      const physical = text.slice(start, newline).trim();
      start = newline + 1;
      if (physical) yield { line, text: physical };
    }
    carry = text.slice(start);
  }
  if (carry.trim()) yield { line: line + 1, text: carry.trim() };
}

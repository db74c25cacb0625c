/**
 * Rows in PostgreSQL's binary COPY format, for the full recompute's bulk
 * writes: Postgres takes binary arrays and floats without parsing text, and
 * no number is formatted as text here.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TEXT_OID = 25;
const FLOAT8_OID = 701;
const CHUNK = 1 << 20;

/** Builds binary COPY data in chunks of about a megabyte; `take()` hands over what is complete. */
export class BinaryCopyWriter {
  private buffer = Buffer.allocUnsafe(CHUNK);
  private at = 0;
  private readonly done: Buffer[] = [];

  constructor() {
    SIGNATURE.copy(this.buffer, 0);
    this.at = SIGNATURE.length;
    this.buffer.writeInt32BE(0, this.at); // flags
    this.buffer.writeInt32BE(0, this.at + 4); // header extension length
    this.at += 8;
  }

  /** Makes room for `bytes` more, handing the current chunk over when it is full. */
  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    this.done.push(this.buffer.subarray(0, this.at));
    this.buffer = Buffer.allocUnsafe(Math.max(CHUNK, bytes));
    this.at = 0;
  }

  /** Starts a row of `fields` columns; `bytes` is at least the size of the whole row. */
  row(fields: number, bytes: number): this {
    this.room(bytes + 2);
    this.buffer.writeInt16BE(fields, this.at);
    this.at += 2;
    return this;
  }

  int8(value: number): this {
    this.buffer.writeInt32BE(8, this.at);
    this.buffer.writeBigInt64BE(BigInt(value), this.at + 4);
    this.at += 12;
    return this;
  }

  int4(value: number): this {
    this.buffer.writeInt32BE(4, this.at);
    this.buffer.writeInt32BE(value, this.at + 4);
    this.at += 8;
    return this;
  }

  float8(value: number): this {
    this.buffer.writeInt32BE(8, this.at);
    this.buffer.writeDoubleBE(value, this.at + 4);
    this.at += 12;
    return this;
  }

  text(value: Buffer): this {
    this.buffer.writeInt32BE(value.length, this.at);
    value.copy(this.buffer, this.at + 4);
    this.at += 4 + value.length;
    return this;
  }

  /** A one-dimensional text[] of `count` elements, `item(k)` each (UTF-8). */
  textArray(count: number, item: (k: number) => Buffer): this {
    const head = this.arrayHead(count, TEXT_OID);
    for (let k = 0; k < count; k++) this.text(item(k));
    this.buffer.writeInt32BE(this.at - head, head - 4);
    return this;
  }

  /** A one-dimensional float8[] of `count` elements, `item(k)` each. */
  float8Array(count: number, item: (k: number) => number): this {
    const head = this.arrayHead(count, FLOAT8_OID);
    for (let k = 0; k < count; k++) this.float8(item(k));
    this.buffer.writeInt32BE(this.at - head, head - 4);
    return this;
  }

  /** Writes an array's header after a length placeholder; returns where the array's bytes start. */
  private arrayHead(count: number, oid: number): number {
    const start = this.at + 4;
    const b = this.buffer;
    b.writeInt32BE(1, start); // dimensions
    b.writeInt32BE(0, start + 4); // no nulls
    b.writeInt32BE(oid, start + 8);
    b.writeInt32BE(count, start + 12);
    b.writeInt32BE(1, start + 16); // lower bound
    this.at = start + 20;
    return start;
  }

  /** The complete chunks so far. */
  take(): Buffer[] {
    return this.done.splice(0);
  }

  /** Ends the data (the trailer) and hands over the rest. */
  end(): Buffer[] {
    this.room(2);
    this.buffer.writeInt16BE(-1, this.at);
    this.at += 2;
    this.done.push(this.buffer.subarray(0, this.at));
    this.buffer = Buffer.alloc(0);
    this.at = 0;
    return this.take();
  }
}

/** Bytes of an array's header and length word, for `row()`'s size. */
export const ARRAY_OVERHEAD = 24;

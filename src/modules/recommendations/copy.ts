import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/** Streams chunks of binary COPY data (see copy-binary.ts) into `target` (`table (columns…)`). */
export async function copyBinary(client: PoolClient, target: string, chunks: Iterable<Buffer>): Promise<void> {
  await pipeline(Readable.from(chunks, { objectMode: false }), client.query(copyFrom(`COPY ${target} FROM STDIN WITH (FORMAT binary)`)));
}

/** Streams the lines of a `COPY … TO STDOUT` statement (text format) to `line`, one at a time. */
export async function streamLines(client: PoolClient, copySql: string, line: (text: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of client.query(copyTo(copySql)) as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      line(text.slice(from, nl));
      from = nl + 1;
    }
    rest = text.slice(from);
  }
  rest += decoder.end();
  if (rest) line(rest);
}

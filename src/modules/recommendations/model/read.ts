import { StringDecoder } from 'node:string_decoder';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { InteractionsBuilder, type Interactions } from './matrix';
import { uncopyText } from '../recommendation-sql';

/** What a fit reads: the customer × product matrix, its rows' customer ids and its columns' product names (in byte order). */
export interface ProductMatrix {
  matrix: Interactions;
  customerIds: Float64Array;
  products: string[];
}

/**
 * Streams `(customer_id, product, weight)` rows, ordered by customer, out of
 * Postgres with `COPY … TO STDOUT` (text format: a fraction of the cost of
 * result rows through the protocol's row parser) into a {@link ProductMatrix}.
 * Products are numbered in byte order of their names, the order Postgres
 * sorts them in `COLLATE "C"`, so ties break the same way in SQL and here.
 */
export async function readProductMatrix(client: PoolClient, selectSql: string): Promise<ProductMatrix> {
  const builder = new InteractionsBuilder();
  const ids: number[] = [];
  const index = new Map<string, number>();
  const names: string[] = [];
  let current = -1;
  let rest = '';
  const decoder = new StringDecoder('utf8');
  const stream = client.query(copyTo(`COPY (${selectSql} ORDER BY 1) TO STDOUT`));
  const line = (text: string) => {
    const a = text.indexOf('\t');
    const b = text.lastIndexOf('\t');
    const customer = Number(text.slice(0, a));
    const product = uncopyText(text.slice(a + 1, b));
    const weight = Number(text.slice(b + 1));
    if (customer !== current) {
      builder.row();
      ids.push(customer);
      current = customer;
    }
    let p = index.get(product);
    if (p === undefined) {
      p = names.length;
      index.set(product, p);
      names.push(product);
    }
    builder.add(p, weight);
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
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
  const raw = builder.build(names.length);
  // Renumber products in byte order.
  const order = names.map((_, i) => i).sort((x, y) => Buffer.compare(Buffer.from(names[x]), Buffer.from(names[y])));
  const renumber = new Int32Array(names.length);
  order.forEach((old, neu) => (renumber[old] = neu));
  for (let k = 0; k < raw.items.length; k++) raw.items[k] = renumber[raw.items[k]];
  return { matrix: raw, customerIds: Float64Array.from(ids), products: order.map((old) => names[old]) };
}

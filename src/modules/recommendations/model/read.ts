import type { PoolClient } from 'pg';
import { streamLines } from '../copy';
import { InteractionsBuilder, type Interactions } from './matrix';
import { uncopyText } from '../recommendation-sql';

/** What a fit reads: the customer × product matrix, its rows' customer ids and its columns' product names (in byte order). */
export interface ProductMatrix {
  matrix: Interactions;
  customerIds: Float64Array;
  products: string[];
}

/** One part of a read: a connection and the `(customer_id, product, weight)` query of a range of customers. */
export interface MatrixPart {
  client: PoolClient;
  selectSql: string;
}

/**
 * Streams `(customer_id, product, weight)` rows, ordered by customer, out of
 * Postgres with `COPY … TO STDOUT` (text format: a fraction of the cost of
 * result rows through the protocol's row parser) into a {@link ProductMatrix}.
 * Each part covers a range of customers, read on its own connection at the
 * same time (Postgres aggregates each in its own backend); the parts come
 * in ascending ranges, so the rows stay in customer order. Products are
 * numbered in byte order of their names, the order Postgres sorts them in
 * `COLLATE "C"`, so ties break the same way in SQL and here.
 */
export async function readProductMatrix(parts: MatrixPart[]): Promise<ProductMatrix> {
  const index = new Map<string, number>();
  const names: string[] = [];
  const readers = parts.map(() => ({ builder: new InteractionsBuilder(), ids: [] as number[], current: -1 }));
  await Promise.all(
    parts.map((part, n) => {
      const reader = readers[n];
      return streamLines(part.client, `COPY (${part.selectSql} ORDER BY 1) TO STDOUT`, (text) => {
        const a = text.indexOf('\t');
        const b = text.lastIndexOf('\t');
        const customer = Number(text.slice(0, a));
        const product = uncopyText(text.slice(a + 1, b));
        const weight = Number(text.slice(b + 1));
        if (customer !== reader.current) {
          reader.builder.row();
          reader.ids.push(customer);
          reader.current = customer;
        }
        let p = index.get(product);
        if (p === undefined) {
          p = names.length;
          index.set(product, p);
          names.push(product);
        }
        reader.builder.add(p, weight);
      });
    }),
  );
  const raw = concatRows(readers.map((r) => r.builder.build(names.length)));
  // Renumber products in byte order.
  const order = names.map((_, i) => i).sort((x, y) => Buffer.compare(Buffer.from(names[x]), Buffer.from(names[y])));
  const renumber = new Int32Array(names.length);
  order.forEach((old, neu) => (renumber[old] = neu));
  for (let k = 0; k < raw.items.length; k++) raw.items[k] = renumber[raw.items[k]];
  const customerIds = new Float64Array(raw.rows);
  let at = 0;
  for (const r of readers) for (const id of r.ids) customerIds[at++] = id;
  return { matrix: raw, customerIds, products: order.map((old) => names[old]) };
}

/** Matrices of the same columns, one after the other. */
function concatRows(parts: Interactions[]): Interactions {
  if (parts.length === 1) return parts[0];
  const rows = parts.reduce((n, m) => n + m.rows, 0);
  const pairs = parts.reduce((n, m) => n + m.items.length, 0);
  const start = new Int32Array(rows + 1);
  const items = new Int32Array(pairs);
  const weights = new Float32Array(pairs);
  let row = 0;
  let pair = 0;
  for (const m of parts) {
    for (let r = 0; r < m.rows; r++) start[row + r + 1] = pair + m.start[r + 1];
    items.set(m.items, pair);
    weights.set(m.weights, pair);
    row += m.rows;
    pair += m.items.length;
  }
  return { rows, columns: parts[0]?.columns ?? 0, start, items, weights };
}

import { StringDecoder } from 'node:string_decoder';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { uncopyText } from '../recommendation-sql';
import { InteractionsBuilder, type Interactions } from './matrix';

/** A leave-last-out split: training matrix, and per row the product held out (-1: the customer is not evaluated). */
export interface HoldoutSplit {
  train: Interactions;
  heldOut: Int32Array;
  products: string[];
  /** Customers whose last product they had had before (nothing unseen to predict): not evaluated. */
  repeats: number;
}

/**
 * Reads every counted product interaction, `(customer_id, product, weight,
 * seconds)` in customer then time order, and holds out each customer's last
 * one: the rest, summed per product, is the training matrix. A customer whose
 * last product was already among their earlier ones is kept for training but
 * not evaluated (the ranking covers only products a customer has not had);
 * so is a customer with a single product interaction (nothing to learn from).
 */
export async function readHoldout(client: PoolClient, selectSql: string): Promise<HoldoutSplit> {
  const index = new Map<string, number>();
  const names: string[] = [];
  const builder = new InteractionsBuilder();
  const heldOut: number[] = [];
  let repeats = 0;
  let current = -1;
  let pending: { product: number; weight: number }[] = [];
  const flush = () => {
    if (current < 0) return;
    builder.row();
    const last = pending[pending.length - 1];
    const earlier = pending.slice(0, -1);
    for (const e of earlier) builder.add(e.product, e.weight);
    if (earlier.length === 0) heldOut.push(-1);
    else if (earlier.some((e) => e.product === last.product)) {
      repeats++;
      heldOut.push(-1);
    } else heldOut.push(last.product);
    pending = [];
  };
  const line = (text: string) => {
    const [customerText, productText, weightText] = text.split('\t');
    const customer = Number(customerText);
    const product = uncopyText(productText);
    if (customer !== current) {
      flush();
      current = customer;
    }
    let p = index.get(product);
    if (p === undefined) {
      p = names.length;
      index.set(product, p);
      names.push(product);
    }
    pending.push({ product: p, weight: Number(weightText) });
  };
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of client.query(copyTo(`COPY (${selectSql}) TO STDOUT`)) as AsyncIterable<Buffer>) {
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
  flush();
  return { train: builder.build(names.length), heldOut: Int32Array.from(heldOut), products: names, repeats };
}

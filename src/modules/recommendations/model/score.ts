import type { Interactions } from './matrix';
import { TopK, type Neighbours } from './neighbours';

/**
 * Scores customers against a fitted model: `score(c, j) = Σ_i x_ci · W[i][j]`
 * over the customer's products `i`, the products they have left out when
 * `excludeOwned`. One dense accumulator of the catalogue's size is reused for
 * every customer, so scoring costs the customer's products times K.
 */
export class Scorer {
  private readonly acc: Float64Array;
  private readonly seen: Uint8Array;
  private readonly touched: Int32Array;
  private readonly owned: Uint8Array;

  constructor(
    private readonly model: Neighbours,
    private readonly excludeOwned: boolean,
  ) {
    this.acc = new Float64Array(model.columns);
    this.seen = new Uint8Array(model.columns);
    this.touched = new Int32Array(model.columns);
    this.owned = new Uint8Array(model.columns);
  }

  /** Fills `top` with row `row`'s best products (weight = score). */
  score(x: Interactions, row: number, top: TopK): void {
    top.reset();
    const { start, items, weights } = this.model;
    let count = 0;
    for (let k = x.start[row]; k < x.start[row + 1]; k++) this.owned[x.items[k]] = 1;
    for (let k = x.start[row]; k < x.start[row + 1]; k++) {
      const i = x.items[k];
      const w = x.weights[k];
      for (let m = start[i]; m < start[i + 1]; m++) {
        const j = items[m];
        if (!this.seen[j]) {
          this.seen[j] = 1;
          this.touched[count++] = j;
        }
        this.acc[j] += w * weights[m];
      }
    }
    for (let t = 0; t < count; t++) {
      const j = this.touched[t];
      if (!(this.excludeOwned && this.owned[j]) && this.acc[j] > 0) top.offer(j, this.acc[j]);
      this.acc[j] = 0;
      this.seen[j] = 0;
    }
    for (let k = x.start[row]; k < x.start[row + 1]; k++) this.owned[x.items[k]] = 0;
  }
}

/** Hit rate and NDCG at a cut-off, over the customers evaluated. */
export interface RankingQuality {
  customers: number;
  hitRate: number;
  ndcg: number;
}

/**
 * Leave-last-out evaluation: `heldOut[row]` is the product each customer took
 * last (-1: not evaluated); `rank(row, top)` fills the model's list for the
 * row (products the customer had in training are expected to be left out).
 * A hit at rank r (1-based) adds 1 to the hit rate and 1 / log2(r + 1) to NDCG
 * (one relevant product, so the ideal DCG is 1).
 */
export function leaveLastOut(rows: number, heldOut: Int32Array, cutoff: number, rank: (row: number, top: TopK) => void): RankingQuality {
  const top = new TopK(cutoff);
  let customers = 0;
  let hits = 0;
  let dcg = 0;
  for (let r = 0; r < rows; r++) {
    const target = heldOut[r];
    if (target < 0) continue;
    customers++;
    rank(r, top);
    for (let k = 0; k < top.size; k++) {
      if (top.index[k] === target) {
        hits++;
        dcg += 1 / Math.log2(k + 2);
        break;
      }
    }
  }
  return { customers, hitRate: customers ? hits / customers : 0, ndcg: customers ? dcg / customers : 0 };
}

/** Ranks by popularity: the most popular products (in `order`) the row does not have. */
export function popularityRanker(x: Interactions, order: Int32Array): (row: number, top: TopK) => void {
  const owned = new Uint8Array(x.columns);
  return (row, top) => {
    top.reset();
    for (let k = x.start[row]; k < x.start[row + 1]; k++) owned[x.items[k]] = 1;
    for (let p = 0; p < order.length && top.size < top.k; p++) if (!owned[order[p]]) top.offer(order[p], order.length - p);
    for (let k = x.start[row]; k < x.start[row + 1]; k++) owned[x.items[k]] = 0;
  };
}

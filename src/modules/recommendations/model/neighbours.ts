import { columnTotals, rowTotals, transpose, type Interactions } from './matrix';

/**
 * The fitted model of every algorithm: for each product `i`, its top-K
 * neighbours `j` with a positive weight `W[i][j]`, in compressed rows sorted
 * by weight (descending, then product index). A customer's score for a product
 * `j` is `Σ_i x_ci · W[i][j]` over the products `i` they have, so the products
 * that contributed most to a recommendation are its explanation.
 */
export interface Neighbours {
  columns: number;
  start: Int32Array;
  items: Int32Array;
  weights: Float32Array;
}

/** Options of {@link cosineNeighbours}. */
export interface CosineOptions {
  /** Neighbours kept per product. */
  neighbours: number;
  /** Added to the denominator: pairs seen together by few customers weigh less (0: plain cosine). */
  shrink: number;
  /** Count each customer–product pair as 1 instead of its weight (plain item-kNN). */
  binary?: boolean;
}

/** Options of {@link rp3betaNeighbours}. */
export interface Rp3betaOptions {
  neighbours: number;
  /** Popularity penalty: the weight towards `j` is divided by `popularity(j)^beta`. */
  beta: number;
}

/** Keeps the `k` largest (weight, index) pairs seen; ties go to the smaller index. */
export class TopK {
  readonly index: Int32Array;
  readonly weight: Float64Array;
  size = 0;
  constructor(readonly k: number) {
    this.index = new Int32Array(k);
    this.weight = new Float64Array(k);
  }
  reset(): void {
    this.size = 0;
  }
  /** Whether (w, i) ranks before (w2, i2). */
  private static before(w: number, i: number, w2: number, i2: number): boolean {
    return w > w2 || (w === w2 && i < i2);
  }
  offer(i: number, w: number): void {
    const k = this.k;
    if (k === 0) return;
    if (this.size === k && !TopK.before(w, i, this.weight[k - 1], this.index[k - 1])) return;
    let at = this.size < k ? this.size++ : k - 1;
    while (at > 0 && TopK.before(w, i, this.weight[at - 1], this.index[at - 1])) {
      this.index[at] = this.index[at - 1];
      this.weight[at] = this.weight[at - 1];
      at--;
    }
    this.index[at] = i;
    this.weight[at] = w;
  }
}

/** Collects per-product top-K lists into {@link Neighbours}. */
class NeighboursBuilder {
  private readonly start: Int32Array;
  private items: number[] = [];
  private weights: number[] = [];
  constructor(private readonly columns: number) {
    this.start = new Int32Array(columns + 1);
  }
  set(i: number, top: TopK): void {
    for (let k = 0; k < top.size; k++) {
      if (top.weight[k] <= 0) break;
      this.items.push(top.index[k]);
      this.weights.push(top.weight[k]);
    }
    this.start[i + 1] = this.items.length;
  }
  build(): Neighbours {
    return { columns: this.columns, start: this.start, items: Int32Array.from(this.items), weights: Float32Array.from(this.weights) };
  }
}

/**
 * Walks the co-occurrences of each product: for product `i`, `visit(c, r_ci)`
 * is offered every customer `c` who has it, and accumulates into `acc` over
 * the customer's products. Costs Σ_c |products of c|² in all, with one
 * dense accumulator of the catalogue's size.
 */
function eachProduct(
  x: Interactions,
  xt: Interactions,
  neighbours: number,
  accumulate: (i: number, acc: Float64Array) => void,
  weigh: (i: number, j: number, co: number) => number,
): Neighbours {
  const acc = new Float64Array(x.columns);
  const seen = new Uint8Array(x.columns);
  const touched = new Int32Array(x.columns);
  const top = new TopK(neighbours);
  const out = new NeighboursBuilder(x.columns);
  for (let i = 0; i < x.columns; i++) {
    let count = 0;
    for (let k = xt.start[i]; k < xt.start[i + 1]; k++) {
      const c = xt.items[k];
      for (let m = x.start[c]; m < x.start[c + 1]; m++) {
        const j = x.items[m];
        if (!seen[j]) {
          seen[j] = 1;
          touched[count++] = j;
        }
      }
    }
    accumulate(i, acc);
    top.reset();
    for (let t = 0; t < count; t++) {
      const j = touched[t];
      if (j !== i) top.offer(j, weigh(i, j, acc[j]));
      acc[j] = 0;
      seen[j] = 0;
    }
    out.set(i, top);
  }
  return out.build();
}

/**
 * Item-item cosine with shrinkage: `W[i][j] = Σ_c x_ci x_cj / (‖x_i‖ ‖x_j‖ + shrink)`,
 * symmetric; with `binary` every pair counts 1 (plain item-kNN).
 */
export function cosineNeighbours(x: Interactions, options: CosineOptions): Neighbours {
  const xt = transpose(x);
  const value = (w: number) => (options.binary ? 1 : w);
  const norms = new Float64Array(x.columns);
  for (let k = 0; k < x.items.length; k++) norms[x.items[k]] += value(x.weights[k]) ** 2;
  for (let j = 0; j < x.columns; j++) norms[j] = Math.sqrt(norms[j]);
  return eachProduct(
    x,
    xt,
    options.neighbours,
    (i, acc) => {
      for (let k = xt.start[i]; k < xt.start[i + 1]; k++) {
        const c = xt.items[k];
        const ri = value(xt.weights[k]);
        for (let m = x.start[c]; m < x.start[c + 1]; m++) acc[x.items[m]] += ri * value(x.weights[m]);
      }
    },
    (i, j, co) => co / (norms[i] * norms[j] + options.shrink),
  );
}

/**
 * RP3beta (Paudel, Christoffel, Newell & Bernstein 2017, "Updatable,
 * accurate, diverse, and scalable recommendations for interactive
 * applications", ACM TiiS 7(1)): the probability of a three-step random walk
 * product → customer → product, `Σ_c (x_ci / Σ_c' x_c'i) · (x_cj / Σ_j' x_cj')`,
 * divided by `popularity(j)^beta` so that popular products do not crowd out
 * the specific ones.
 */
export function rp3betaNeighbours(x: Interactions, options: Rp3betaOptions): Neighbours {
  const xt = transpose(x);
  const popularity = columnTotals(x);
  const activity = rowTotals(x);
  const penalty = new Float64Array(x.columns);
  for (let j = 0; j < x.columns; j++) penalty[j] = popularity[j] > 0 ? popularity[j] ** options.beta : 1;
  return eachProduct(
    x,
    xt,
    options.neighbours,
    (i, acc) => {
      for (let k = xt.start[i]; k < xt.start[i + 1]; k++) {
        const c = xt.items[k];
        const step = xt.weights[k] / popularity[i] / activity[c];
        for (let m = x.start[c]; m < x.start[c + 1]; m++) acc[x.items[m]] += step * x.weights[m];
      }
    },
    (_i, j, co) => co / penalty[j],
  );
}

/** The K most popular products (by total weight) as neighbours of every product: what the popularity baseline scores with. */
export function popularityOrder(x: Interactions): Int32Array {
  const totals = columnTotals(x);
  const order = Array.from({ length: x.columns }, (_, j) => j).filter((j) => totals[j] > 0);
  order.sort((a, b) => totals[b] - totals[a] || a - b);
  return Int32Array.from(order);
}

import type { Interactions } from './matrix';
import { popularityOrder, TopK, type Neighbours } from './neighbours';

/** Options of {@link easeNeighbours}. */
export interface EaseOptions {
  neighbours: number;
  /** L2 regularisation added to the Gram matrix's diagonal. */
  lambda: number;
  /**
   * The model is fitted on the most popular products up to this many: it
   * inverts a dense n × n matrix (n³ operations, 8n² bytes), which a full
   * catalogue cannot afford. Other products get no neighbours and are never
   * recommended.
   */
  maxProducts: number;
}

/** Inverts a symmetric positive definite n × n matrix (row-major) in place by Gauss–Jordan elimination. */
export function invertInPlace(a: Float64Array, n: number): void {
  for (let p = 0; p < n; p++) {
    const rowP = p * n;
    const pivot = a[rowP + p];
    if (!(pivot > 0)) throw new Error(`the Gram matrix is not positive definite at ${p}`);
    a[rowP + p] = 1;
    for (let j = 0; j < n; j++) a[rowP + j] /= pivot;
    for (let i = 0; i < n; i++) {
      if (i === p) continue;
      const rowI = i * n;
      const f = a[rowI + p];
      if (f === 0) continue;
      a[rowI + p] = 0;
      for (let j = 0; j < n; j++) a[rowI + j] -= f * a[rowP + j];
    }
  }
}

/**
 * EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data",
 * WWW '19): the item-item matrix `B` minimising `‖X − XB‖² + λ‖B‖²` with a
 * zero diagonal, in closed form `B = I − P · diag(1 / diag(P))` where
 * `P = (XᵀX + λI)⁻¹`. `B[i][j]` is how much having `i` predicts `j`; its
 * top-K positive entries per row are kept as neighbours.
 */
export function easeNeighbours(x: Interactions, options: EaseOptions): Neighbours {
  const kept = popularityOrder(x).slice(0, options.maxProducts);
  const n = kept.length;
  const local = new Int32Array(x.columns).fill(-1);
  kept.forEach((j, l) => (local[j] = l));
  const g = new Float64Array(n * n);
  const rowItems = new Int32Array(x.columns);
  const rowWeights = new Float64Array(x.columns);
  for (let c = 0; c < x.rows; c++) {
    let count = 0;
    for (let k = x.start[c]; k < x.start[c + 1]; k++) {
      const l = local[x.items[k]];
      if (l < 0) continue;
      rowItems[count] = l;
      rowWeights[count++] = x.weights[k];
    }
    for (let a = 0; a < count; a++) {
      const base = rowItems[a] * n;
      const wa = rowWeights[a];
      for (let b = 0; b < count; b++) g[base + rowItems[b]] += wa * rowWeights[b];
    }
  }
  for (let l = 0; l < n; l++) g[l * n + l] += options.lambda;
  invertInPlace(g, n);
  const start = new Int32Array(x.columns + 1);
  const items: number[] = [];
  const weights: number[] = [];
  const top = new TopK(options.neighbours);
  for (let i = 0; i < x.columns; i++) {
    const li = local[i];
    if (li >= 0) {
      top.reset();
      for (let lj = 0; lj < n; lj++) {
        if (lj === li) continue;
        const b = -g[li * n + lj] / g[lj * n + lj];
        if (b > 0) top.offer(kept[lj], b);
      }
      for (let k = 0; k < top.size; k++) {
        items.push(top.index[k]);
        weights.push(top.weight[k]);
      }
    }
    start[i + 1] = items.length;
  }
  return { columns: x.columns, start, items: Int32Array.from(items), weights: Float32Array.from(weights) };
}

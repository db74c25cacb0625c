/**
 * The customer × product matrix the models are fitted on, in compressed
 * sparse rows: customer `c`'s products are `items[start[c] .. start[c + 1])`
 * with their weights in `weights` (the summed, decayed weight of the
 * customer's counted interactions with the product). Typed arrays, so that
 * a pair costs a few bytes and no object.
 */
export interface Interactions {
  /** Rows (customers). */
  rows: number;
  /** Columns (products). */
  columns: number;
  start: Int32Array;
  items: Int32Array;
  weights: Float32Array;
}

/** Builds {@link Interactions} pair by pair; pairs of one row must come together (rows in any order, each once). */
export class InteractionsBuilder {
  private starts: number[] = [0];
  private items = new Int32Array(1024);
  private weights = new Float32Array(1024);
  private size = 0;
  private open = false;

  /** Starts the next row; returns its index. */
  row(): number {
    if (this.open) this.starts.push(this.size);
    this.open = true;
    return this.starts.length - 1;
  }

  /** Adds a pair to the current row (a product seen twice in a row is summed). */
  add(item: number, weight: number): void {
    if (!this.open) this.row();
    const rowStart = this.starts[this.starts.length - 1];
    for (let k = rowStart; k < this.size; k++) {
      if (this.items[k] === item) {
        this.weights[k] += weight;
        return;
      }
    }
    if (this.size === this.items.length) {
      const items = new Int32Array(this.items.length * 2);
      items.set(this.items);
      this.items = items;
      const weights = new Float32Array(this.weights.length * 2);
      weights.set(this.weights);
      this.weights = weights;
    }
    this.items[this.size] = item;
    this.weights[this.size] = weight;
    this.size++;
  }

  build(columns: number): Interactions {
    const starts = this.open ? [...this.starts, this.size] : this.starts;
    return {
      rows: starts.length - 1,
      columns,
      start: Int32Array.from(starts),
      items: this.items.slice(0, this.size),
      weights: this.weights.slice(0, this.size),
    };
  }
}

/** The same matrix with rows and columns swapped (product → customers). */
export function transpose(m: Interactions): Interactions {
  const counts = new Int32Array(m.columns + 1);
  for (let k = 0; k < m.items.length; k++) counts[m.items[k] + 1]++;
  for (let j = 0; j < m.columns; j++) counts[j + 1] += counts[j];
  const start = counts.slice();
  const fill = counts.slice(0, m.columns);
  const items = new Int32Array(m.items.length);
  const weights = new Float32Array(m.items.length);
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.start[r]; k < m.start[r + 1]; k++) {
      const at = fill[m.items[k]]++;
      items[at] = r;
      weights[at] = m.weights[k];
    }
  }
  return { rows: m.columns, columns: m.rows, start, items, weights };
}

/** Each column's total weight (a product's popularity). */
export function columnTotals(m: Interactions): Float64Array {
  const totals = new Float64Array(m.columns);
  for (let k = 0; k < m.items.length; k++) totals[m.items[k]] += m.weights[k];
  return totals;
}

/** Each row's total weight. */
export function rowTotals(m: Interactions): Float64Array {
  const totals = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) for (let k = m.start[r]; k < m.start[r + 1]; k++) totals[r] += m.weights[k];
  return totals;
}

import { solvePositiveDefinite, type Stepwise } from './optimize';

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { abs, exp, imul, log, max, min } = Math;

/**
 * A design matrix for logistic regression, stored compactly: an intercept,
 * `numericCount` dense columns (standardised numbers), then indicator
 * columns (one-hot levels and missing-value flags) of which each row has at
 * most one per slot. Column 0 is the intercept, columns 1…numericCount the
 * numeric ones, and indicator columns follow up to `dimension − 1`; the
 * columns of a later slot are above those of an earlier one.
 */
export interface Design {
  rows: number;
  /** Dense numeric columns. */
  numericCount: number;
  /** Row-major `rows × numericCount`. */
  numeric: Float64Array;
  /** Indicator slots per row. */
  slotCount: number;
  /** Row-major `rows × slotCount`: the column set to 1 in each slot, or −1 for none. */
  slots: Int32Array;
  /** Columns in all, the intercept included. */
  dimension: number;
}

/** The linear predictor β·x of row `i`. */
export function linearPredictor(design: Design, beta: ArrayLike<number>, i: number): number {
  const { numericCount: p, slotCount: q, numeric, slots } = design;
  let eta = beta[0];
  for (let j = 0, o = i * p; j < p; j++) eta += beta[1 + j] * numeric[o + j];
  for (let s = 0, o = i * q; s < q; s++) {
    const c = slots[o + s];
    if (c >= 0) eta += beta[c];
  }
  return eta;
}

/** The logistic function 1 / (1 + e^−η), without overflow. */
export function sigmoid(eta: number): number {
  if (eta >= 0) return 1 / (1 + exp(-eta));
  const e = exp(eta);
  return e / (1 + e);
}

/** log(1 + e^η) without overflow. */
function softplus(eta: number): number {
  return eta > 0 ? eta + log(1 + exp(-eta)) : log(1 + exp(eta));
}

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** Rows to fit on (indices into the design); all by default. */
  rows?: Int32Array;
  /** Starting coefficients (a warm start from a nearby λ); zeros by default. */
  start?: ArrayLike<number>;
  /** Newton steps allowed. @defaultValue 50 */
  maxIterations?: number;
  /** Converged when no coefficient moves by more than this in a full step. @defaultValue 1e-8 */
  tolerance?: number;
  /** Rows between pauses of the {@link Stepwise} computation. @defaultValue 20000 */
  rowsPerStep?: number;
}

/** A fitted L2-regularised logistic regression. */
export interface LogisticFit {
  /** Coefficients by column of the design (intercept first). */
  beta: Float64Array;
  /** The penalised objective at `beta`: mean negative log-likelihood + λ/2 · Σ β_j² (j ≥ 1). */
  objective: number;
  iterations: number;
  converged: boolean;
}

/**
 * Fits P(y = 1 | x) = σ(β·x) by minimising the mean negative log-likelihood
 * plus (λ/2)·Σ_{j≥1} β_j² (the intercept is not penalised) with Newton's
 * method, i.e. iteratively reweighted least squares: each step solves
 * (XᵀWX/n + λI′)·Δ = −∇, W = diag(μ(1 − μ)), by Cholesky, and is halved
 * until the objective decreases (it always does near the optimum, where the
 * full step converges quadratically). The objective is strictly convex for
 * λ > 0, so the minimum is unique; with λ = 0 the data must not be
 * separable. A {@link Stepwise} computation: it pauses every `rowsPerStep`
 * rows so a long fit can yield to the event loop.
 *
 * @throws RangeError when the Hessian is not positive definite (λ = 0 with
 *   separable data or a constant column).
 */
export function* fitLogistic(design: Design, y: Uint8Array, lambda: number, options: LogisticOptions = {}): Stepwise<LogisticFit> {
  const d = design.dimension;
  const rows = options.rows ?? allRows(design.rows);
  const n = rows.length;
  if (n === 0) throw new RangeError('fitLogistic: no rows');
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-8;
  const perStep = options.rowsPerStep ?? 20_000;
  let beta: Float64Array = Float64Array.from(options.start ?? new Float64Array(d));
  const objectiveAt = function* (b: Float64Array): Stepwise<number> {
    let sum = 0;
    for (let from = 0; from < n; from += perStep) {
      sum += negativeLogLikelihood(design, y, rows, from, min(n, from + perStep), b);
      yield;
    }
    return sum / n + penalty(b, lambda);
  };

  let current = yield* objectiveAt(beta);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const gradient = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    for (let from = 0; from < n; from += perStep) {
      accumulate(design, y, rows, from, min(n, from + perStep), beta, gradient, hessian);
      yield;
    }
    const h: number[][] = [];
    const g: number[] = [];
    for (let a = 0; a < d; a++) {
      const row: number[] = new Array<number>(d);
      for (let b = 0; b < d; b++) row[b] = (a <= b ? hessian[a * d + b] : hessian[b * d + a]) / n;
      if (a > 0) row[a] += lambda;
      h.push(row);
      g.push(-(gradient[a] / n + (a > 0 ? lambda * beta[a] : 0)));
    }
    const step = solvePositiveDefinite(h, g);
    if (!step) throw new RangeError('fitLogistic: the Hessian is not positive definite (separable data or a constant column without regularisation)');
    const last = step.every((s) => abs(s) <= tolerance);
    let t = 1;
    let next: Float64Array | null = null;
    let nextValue = current;
    for (let halving = 0; halving < 30; halving++, t /= 2) {
      const candidate = beta.map((v, j) => v + t * step[j]);
      const value = yield* objectiveAt(candidate);
      // Near the optimum the decrease is below the rounding of the objective: that much counts as no increase.
      if (value <= current + 1e-12 * (1 + abs(current))) {
        next = candidate;
        nextValue = value;
        break;
      }
    }
    if (!next) return { beta, objective: current, iterations: iteration, converged: last };
    beta = next;
    current = nextValue;
    if (last) return { beta, objective: current, iterations: iteration, converged: true };
  }
  return { beta, objective: current, iterations: maxIterations, converged: false };
}

/** Σ −log-likelihood of rows[from…to): softplus(η) − y·η each. Plain loops outside the generator, which V8 optimises better. */
function negativeLogLikelihood(design: Design, y: Uint8Array, rows: Int32Array, from: number, to: number, beta: Float64Array): number {
  let sum = 0;
  for (let k = from; k < to; k++) {
    const i = rows[k];
    const eta = linearPredictor(design, beta, i);
    sum += softplus(eta) - (y[i] ? eta : 0);
  }
  return sum;
}

/** Adds rows[from…to) to the gradient Σ (μ − y)·x and the upper triangle of the Hessian Σ μ(1 − μ)·x·xᵀ. */
function accumulate(
  design: Design,
  y: Uint8Array,
  rows: Int32Array,
  from: number,
  to: number,
  beta: Float64Array,
  gradient: Float64Array,
  hessian: Float64Array,
): void {
  const { numericCount: p, slotCount: q, numeric, slots, dimension: d } = design;
  const active = new Int32Array(1 + p + q);
  const values = new Float64Array(1 + p + q);
  for (let k = from; k < to; k++) {
    const i = rows[k];
    // The row's non-zero entries: the intercept, the numeric columns, the set indicators.
    let m = 0;
    active[m] = 0;
    values[m++] = 1;
    for (let j = 0, o = i * p; j < p; j++) {
      active[m] = 1 + j;
      values[m++] = numeric[o + j];
    }
    for (let s = 0, o = i * q; s < q; s++) {
      const c = slots[o + s];
      if (c >= 0) {
        active[m] = c;
        values[m++] = 1;
      }
    }
    let eta = 0;
    for (let a = 0; a < m; a++) eta += beta[active[a]] * values[a];
    const mu = sigmoid(eta);
    const residual = mu - y[i];
    const w = mu * (1 - mu);
    for (let a = 0; a < m; a++) {
      const ca = active[a];
      const va = values[a];
      gradient[ca] += residual * va;
      const wa = w * va;
      const rowOffset = ca * d;
      // Upper triangle only (mirrored when the system is solved): a row's active columns increase, since the
      // slots' columns follow the numeric ones and each other in slot order.
      for (let b = a; b < m; b++) hessian[rowOffset + active[b]] += wa * values[b];
    }
  }
}

function penalty(beta: ArrayLike<number>, lambda: number): number {
  let sum = 0;
  for (let j = 1; j < beta.length; j++) sum += beta[j] * beta[j];
  return (lambda / 2) * sum;
}

function allRows(n: number): Int32Array {
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

/**
 * ROC AUC: the probability that a random positive ranks above a random
 * negative, ties counting half (the Mann–Whitney U statistic / (n₁·n₀)).
 * NaN when either class is empty.
 */
export function rocAuc(predictions: ArrayLike<number>, y: ArrayLike<number>): number {
  const order = Array.from({ length: predictions.length }, (_, i) => i).sort((a, b) => predictions[a] - predictions[b]);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && predictions[order[end + 1]] === predictions[order[start]]) end++;
    // Ranks start..end (1-based: start + 1 … end + 1) share their mean.
    const meanRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (y[order[k]]) {
        positives++;
        rankSum += meanRank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean log loss −[y log p + (1 − y) log(1 − p)], p clipped to [1e−15, 1 − 1e−15]. */
export function logLoss(predictions: ArrayLike<number>, y: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < predictions.length; i++) {
    const p = min(max(predictions[i], 1e-15), 1 - 1e-15);
    sum -= y[i] ? log(p) : log(1 - p);
  }
  return sum / predictions.length;
}

/** One bin of a calibration table: predictions in [lower, upper) (the last bin includes 1). */
export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin; null when it is empty. */
  meanPredicted: number | null;
  /** Share of positives in the bin; null when it is empty. */
  observedRate: number | null;
}

/** Calibration table: `bins` equal-width bins of the predicted probability, with the mean prediction and the observed rate in each. */
export function calibrationTable(predictions: ArrayLike<number>, y: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const count = new Array<number>(bins).fill(0);
  const predicted = new Array<number>(bins).fill(0);
  const observed = new Array<number>(bins).fill(0);
  for (let i = 0; i < predictions.length; i++) {
    const b = min(bins - 1, max(0, Math.floor(predictions[i] * bins)));
    count[b]++;
    predicted[b] += predictions[i];
    observed[b] += y[i] ? 1 : 0;
  }
  return count.map((c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    meanPredicted: c ? predicted[b] / c : null,
    observedRate: c ? observed[b] / c : null,
  }));
}

/**
 * Stratified fold of every row (0…folds − 1): within each class, rows are
 * shuffled by a seeded generator (mulberry32) and dealt round-robin, so each
 * fold holds the class balance and the same data gives the same folds.
 */
export function stratifiedFolds(y: Uint8Array, folds: number, seed = 1): Uint8Array {
  const assignment = new Uint8Array(y.length);
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (const cls of [0, 1]) {
    const members: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) members.push(i);
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    members.forEach((row, k) => (assignment[row] = k % folds));
  }
  return assignment;
}

/** What {@link crossValidate} finds for each λ tried. */
export interface LambdaResult {
  lambda: number;
  /** Out-of-fold log loss and ROC AUC, pooled over the folds. */
  logLoss: number;
  auc: number;
}

/** Outcome of {@link crossValidate}. */
export interface CrossValidation {
  folds: number;
  /** Every λ tried, in the order given. */
  path: LambdaResult[];
  /** The λ with the lowest out-of-fold log loss. */
  best: LambdaResult;
  /** Out-of-fold predictions of `rows` at the best λ (each from the fit that did not see it). */
  predictions: Float64Array;
  /** The rows cross-validated (indices into the design). */
  rows: Int32Array;
}

/**
 * k-fold cross-validation of the L2 penalty over `rows`: for every λ, each
 * fold is predicted by the model fitted on the other folds (warm-started
 * from the previous λ's fit of the same fold), and the λ with the lowest
 * pooled out-of-fold log loss is chosen.
 */
export function* crossValidate(design: Design, y: Uint8Array, rows: Int32Array, lambdas: readonly number[], folds: number): Stepwise<CrossValidation> {
  const yRows = Uint8Array.from(rows, (i) => y[i]);
  const fold = stratifiedFolds(yRows, folds);
  const trainRows = Array.from({ length: folds }, (_, f) => rows.filter((_, k) => fold[k] !== f));
  const starts: (Float64Array | undefined)[] = new Array(folds).fill(undefined);
  const path: LambdaResult[] = [];
  let best: { result: LambdaResult; predictions: Float64Array } | null = null;
  for (const lambda of lambdas) {
    const predictions = new Float64Array(rows.length);
    for (let f = 0; f < folds; f++) {
      // Out-of-fold predictions need no more than 1e-6 on the coefficients; the final fit goes to the default 1e-8.
      const fit = yield* fitLogistic(design, y, lambda, { rows: trainRows[f], start: starts[f], tolerance: 1e-6 });
      starts[f] = fit.beta;
      for (let k = 0; k < rows.length; k++) if (fold[k] === f) predictions[k] = sigmoid(linearPredictor(design, fit.beta, rows[k]));
    }
    const result = { lambda, logLoss: logLoss(predictions, yRows), auc: rocAuc(predictions, yRows) };
    path.push(result);
    if (!best || result.logLoss < best.result.logLoss) best = { result, predictions };
  }
  if (!best) throw new RangeError('crossValidate: no λ to try');
  return { folds, path, best: best.result, predictions: best.predictions, rows };
}

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { abs, min } = Math;

/**
 * Options for {@link minimize}. Parameters of the customer-base models are
 * optimised in log space, where a unit step is a factor of e, so the defaults
 * assume variables of order 1.
 */
export interface MinimizeOptions {
  /** Edge length of each fresh simplex, per coordinate or for all. @defaultValue 0.5 */
  initialStep?: number | readonly number[];
  /** Nelder–Mead iterations allowed in one run (the first, or one restart). @defaultValue 2000 */
  maxIterationsPerRun?: number;
  /**
   * Nelder–Mead iterations allowed over all runs, which bounds the time spent
   * on a problem without a minimum. @defaultValue 10000
   */
  maxIterations?: number;
  /** Restarts after the first run; the search stops early once a restart no longer improves. @defaultValue 20 */
  maxRestarts?: number;
  /**
   * A run has converged when the objective values on the simplex differ by at
   * most `fTolerance · (1 + |f_best|)` … @defaultValue 1e-12
   */
  fTolerance?: number;
  /** … and every vertex lies within `xTolerance` of the best in each coordinate. @defaultValue 1e-9 */
  xTolerance?: number;
  /**
   * Confines the search to the box |xᵢ| ≤ `bound`: outside it the objective
   * counts as +Infinity. A finite bound keeps a search whose infimum lies at
   * infinity from running off; {@link MinimizeResult.atBound} then reports it.
   * @defaultValue Infinity
   */
  bound?: number;
}

/** Outcome of {@link minimize}. */
export interface MinimizeResult {
  /** The best point found. */
  x: number[];
  /** The objective at `x`. */
  value: number;
  /** Nelder–Mead iterations over all runs. */
  iterations: number;
  /** Objective evaluations over all runs. */
  evaluations: number;
  /** Restarts performed after the first run. */
  restarts: number;
  /**
   * True when the last run met both tolerances and a restart from its best
   * point found no better point: a stalled simplex that restarts cannot
   * improve is taken to be at a local minimum.
   */
  converged: boolean;
  /** Coordinates of `x` within 1 of `bound`: the function kept decreasing towards the edge of the box. */
  atBound: number[];
}

/**
 * The search box, in log space, for the customer-base model fits: parameters
 * stay between e^−20 ≈ 2·10⁻⁹ and e^20 ≈ 5·10⁸, far beyond any identified
 * estimate, so a fit that ends at the edge has diverged.
 */
export const LOG_PARAMETER_BOUND = 20;

/**
 * Beyond e^±10 (below 5·10⁻⁵ or above 2·10⁴) a log-space parameter that has not converged is
 * taken to be drifting along a ridge towards the edge of the box; Nelder–Mead
 * crawls along such ridges and may run out of iterations before it gets there.
 */
const LOG_PARAMETER_DRIFT = 10;

/**
 * Coordinates along which a log-space model fit ran off to 0 or infinity: at
 * the edge of the box {@link LOG_PARAMETER_BOUND}, or, when the search did not
 * converge, already beyond e^±10. Empty when the fit is usable.
 */
export function divergedLogParameters(result: MinimizeResult): number[] {
  if (result.atBound.length > 0) return result.atBound;
  if (result.converged) return [];
  return result.x.flatMap((v, i) => (abs(v) > LOG_PARAMETER_DRIFT ? [i] : []));
}

/**
 * Minimises an unconstrained function of n variables by the Nelder–Mead simplex
 * method (Nelder & Mead 1965, "A Simplex Method for Function Minimization",
 * Computer Journal 7(4)) with the dimension-dependent coefficients of Gao & Han
 * (2012, "Implementing the Nelder-Mead simplex algorithm with adaptive
 * parameters", Comput. Optim. Appl. 51), and restarts from the best point,
 * which guard against the simplex collapsing before the minimum (McKinnon 1998).
 *
 * The objective may return `NaN` or ±Infinity outside its domain; such points
 * are treated as +Infinity, so the simplex stays where the function is defined.
 *
 * @example minimize(([x, y]) => (x! - 1) ** 2 + 10 * (y! + 2) ** 2, [0, 0]).x // ≈ [1, −2]
 */
export function minimize(objective: (x: readonly number[]) => number, start: readonly number[], options: MinimizeOptions = {}): MinimizeResult {
  return runToEnd(minimizeStepwise(objective, start, options));
}

/**
 * A computation that pauses after each objective evaluation, so a caller can
 * give the event loop a turn during a long fit ({@link runYielding}) or run it
 * straight through ({@link runToEnd}).
 */
export type Stepwise<T> = Generator<void, T, void>;

/** Runs a {@link Stepwise} computation to its end without pausing. */
export function runToEnd<T>(steps: Stepwise<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs a {@link Stepwise} computation to its end, letting the event loop run
 * after every `sliceMs` of work: a fit over hundreds of thousands of customers
 * then never stalls the worker's other jobs, its queue lock renewals, or the
 * statements other fits are waiting to send.
 */
export async function runYielding<T>(steps: Stepwise<T>, sliceMs = 10): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** {@link minimize} as a {@link Stepwise} computation: it pauses after each evaluation of the objective. */
export function* minimizeStepwise(
  objective: (x: readonly number[]) => number,
  start: readonly number[],
  options: MinimizeOptions = {},
): Stepwise<MinimizeResult> {
  const n = start.length;
  if (n === 0) throw new RangeError('minimize: the start point has no coordinates');
  if (!start.every(Number.isFinite)) throw new RangeError('minimize: the start point must be finite');
  const steps = typeof options.initialStep === 'object' ? [...options.initialStep] : new Array<number>(n).fill(options.initialStep ?? 0.5);
  if (steps.length !== n) throw new RangeError(`minimize: initialStep has ${steps.length} entries for ${n} variables`);
  const perRun = options.maxIterationsPerRun ?? 2000;
  const maxIterations = options.maxIterations ?? 10_000;
  const maxRestarts = options.maxRestarts ?? 20;
  const fTolerance = options.fTolerance ?? 1e-12;
  const settings = (used: number): RunSettings => ({
    maxIterations: min(perRun, maxIterations - used),
    fTolerance,
    xTolerance: options.xTolerance ?? 1e-9,
  });
  const bound = options.bound ?? Number.POSITIVE_INFINITY;

  let evaluations = 0;
  const f = function* (x: readonly number[]): Stepwise<number> {
    evaluations++;
    if (x.some((v) => abs(v) > bound)) return Number.POSITIVE_INFINITY;
    const value = objective(x);
    yield;
    return Number.isNaN(value) || value === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : value;
  };

  let best = yield* runNelderMead(f, [...start], steps, settings(0));
  let iterations = best.iterations;
  let restarts = 0;
  let converged = false;
  while (restarts < maxRestarts && iterations < maxIterations) {
    restarts++;
    const next = yield* runNelderMead(f, best.x, steps, settings(iterations));
    iterations += next.iterations;
    const improvement = best.value - next.value;
    const wasConverged = best.converged;
    if (next.value < best.value) best = next;
    if (wasConverged && next.converged && improvement <= fTolerance * (1 + abs(best.value))) {
      converged = true;
      break;
    }
  }
  const atBound = best.x.flatMap((v, i) => (abs(v) > bound - 1 ? [i] : []));
  return { x: best.x, value: best.value, iterations, evaluations, restarts, converged, atBound };
}

interface RunSettings {
  maxIterations: number;
  fTolerance: number;
  xTolerance: number;
}

interface RunResult {
  x: number[];
  value: number;
  iterations: number;
  converged: boolean;
}

function* runNelderMead(f: (x: readonly number[]) => Stepwise<number>, start: number[], steps: readonly number[], settings: RunSettings): Stepwise<RunResult> {
  const n = start.length;
  const reflection = 1;
  const expansion = 1 + 2 / n;
  const contraction = 0.75 - 1 / (2 * n);
  const shrinkage = 1 - 1 / n;

  const vertices: number[][] = [start];
  for (let i = 0; i < n; i++) {
    const vertex = [...start];
    vertex[i] += steps[i];
    vertices.push(vertex);
  }
  const values: number[] = [];
  for (const vertex of vertices) values.push(yield* f(vertex));
  const order = vertices.map((_, i) => i);

  const along = (from: readonly number[], towards: readonly number[], t: number): number[] => from.map((v, i) => v + t * (towards[i] - v));

  let iterations = 0;
  while (iterations < settings.maxIterations) {
    order.sort((i, j) => values[i] - values[j]);
    const bestIndex = order[0];
    const worstIndex = order[n];
    const secondWorst = values[order[n - 1]];
    const bestValue = values[bestIndex];
    const worstValue = values[worstIndex];

    if (hasConverged(vertices, values, bestIndex, settings)) {
      return { x: [...vertices[bestIndex]], value: bestValue, iterations, converged: true };
    }
    iterations++;

    const centroid = new Array<number>(n).fill(0);
    for (const i of order.slice(0, n)) {
      for (let k = 0; k < n; k++) centroid[k] += vertices[i][k] / n;
    }
    const worst = vertices[worstIndex];
    const reflected = along(centroid, worst, -reflection);
    const reflectedValue = yield* f(reflected);

    if (reflectedValue < bestValue) {
      const expanded = along(centroid, worst, -reflection * expansion);
      const expandedValue = yield* f(expanded);
      if (expandedValue < reflectedValue) replace(worstIndex, expanded, expandedValue);
      else replace(worstIndex, reflected, reflectedValue);
      continue;
    }
    if (reflectedValue < secondWorst) {
      replace(worstIndex, reflected, reflectedValue);
      continue;
    }
    if (reflectedValue < worstValue) {
      const outside = along(centroid, reflected, contraction);
      const outsideValue = yield* f(outside);
      if (outsideValue <= reflectedValue) {
        replace(worstIndex, outside, outsideValue);
        continue;
      }
    } else {
      const inside = along(centroid, worst, contraction);
      const insideValue = yield* f(inside);
      if (insideValue < worstValue) {
        replace(worstIndex, inside, insideValue);
        continue;
      }
    }
    const anchor = vertices[bestIndex];
    for (const i of order.slice(1)) {
      const shrunk = along(anchor, vertices[i], shrinkage);
      replace(i, shrunk, yield* f(shrunk));
    }
  }
  order.sort((i, j) => values[i] - values[j]);
  const bestIndex = order[0];
  return { x: [...vertices[bestIndex]], value: values[bestIndex], iterations, converged: false };

  function replace(index: number, vertex: number[], value: number): void {
    vertices[index] = vertex;
    values[index] = value;
  }
}

function hasConverged(vertices: readonly (readonly number[])[], values: readonly number[], bestIndex: number, settings: RunSettings): boolean {
  const bestValue = values[bestIndex];
  if (!Number.isFinite(bestValue)) return false;
  const fLimit = settings.fTolerance * (1 + abs(bestValue));
  const best = vertices[bestIndex];
  return vertices.every((vertex, i) => values[i] - bestValue <= fLimit && vertex.every((v, k) => abs(v - best[k]) <= settings.xTolerance));
}

/** An objective with its gradient, evaluated together (they share most of their work). */
export type ValueAndGradient = (x: readonly number[]) => { value: number; gradient: number[] };

/** Options of {@link newtonStepwise}. */
export interface NewtonOptions {
  /** Converged once every coordinate of a full Newton step is at most this. @defaultValue 1e-6 */
  xTolerance?: number;
  /** Newton steps allowed. @defaultValue 50 */
  maxIterations?: number;
  /** Step of the forward differences of the gradient that make the Hessian. @defaultValue 1e-5 */
  hessianStep?: number;
  /** As {@link MinimizeOptions.bound}. @defaultValue Infinity */
  bound?: number;
}

/**
 * Minimises a smooth function from a start near its minimum by Newton's
 * method: the gradient is the objective's own, the Hessian its forward
 * differences (symmetrised), and a step that does not decrease the
 * objective enough (Armijo) is halved. For polishing a fit that a
 * derivative-free search brought close: each step costs n + 1 gradients,
 * and a few steps reach the precision for which Nelder–Mead needs hundreds
 * of evaluations.
 *
 * Returns null when Newton's method cannot go on — a Hessian that is not
 * positive definite (not near a minimum), no decrease along the step, a
 * non-finite value, or no convergence within `maxIterations` — so that the
 * caller falls back to a derivative-free search from the start.
 */
export function* newtonStepwise(objective: ValueAndGradient, start: readonly number[], options: NewtonOptions = {}): Stepwise<MinimizeResult | null> {
  const n = start.length;
  const xTolerance = options.xTolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 50;
  const h = options.hessianStep ?? 1e-5;
  const bound = options.bound ?? Number.POSITIVE_INFINITY;
  let evaluations = 0;
  const evaluate = function* (x: readonly number[]): Stepwise<{ value: number; gradient: number[] } | null> {
    evaluations++;
    if (x.some((v) => abs(v) > bound)) return null;
    const result = objective(x);
    yield;
    return Number.isFinite(result.value) && result.gradient.every(Number.isFinite) ? result : null;
  };
  let x = [...start];
  let current = yield* evaluate(x);
  if (!current) return null;
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const { gradient } = current;
    const hessian: number[][] = [];
    for (let j = 0; j < n; j++) {
      const shifted = [...x];
      shifted[j] += h;
      const at = yield* evaluate(shifted);
      if (!at) return null;
      hessian.push(at.gradient.map((g, i) => (g - gradient[i]) / h));
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) hessian[i][j] = hessian[j][i] = (hessian[i][j] + hessian[j][i]) / 2;
    const step = solvePositiveDefinite(
      hessian,
      gradient.map((g) => -g),
    );
    if (!step) return null;
    const slope = step.reduce((sum, s, i) => sum + s * gradient[i], 0);
    // Near the minimum the decrease is below the rounding of the objective: that much counts as no increase.
    const noise = 1e-12 * (1 + abs(current.value));
    const last = step.every((s) => abs(s) <= xTolerance);
    let t = 1;
    let next: { value: number; gradient: number[] } | null = null;
    let candidate: number[] = x;
    for (let halving = 0; halving < 30; halving++, t /= 2) {
      candidate = x.map((v, i) => v + t * step[i]);
      next = yield* evaluate(candidate);
      if (next && next.value <= current.value + 1e-4 * t * slope + noise) break;
      next = null;
      // A step within the tolerance that does not descend: x is the minimum already.
      if (last) return { x, value: current.value, iterations: iteration, evaluations, restarts: 0, converged: true, atBound: atBoundOf(x) };
    }
    if (!next) return null;
    x = candidate;
    current = next;
    if (last) return { x, value: current.value, iterations: iteration, evaluations, restarts: 0, converged: true, atBound: atBoundOf(x) };
  }
  return null;

  function atBoundOf(point: readonly number[]): number[] {
    return point.flatMap((v, i) => (abs(v) > bound - 1 ? [i] : []));
  }
}

/** Solves A·s = b for a symmetric positive definite A (Cholesky); null when A is not positive definite. */
export function solvePositiveDefinite(a: readonly (readonly number[])[], b: readonly number[]): number[] | null {
  const n = b.length;
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i][j];
      for (let k = 0; k < j; k++) sum -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(sum > 0)) return null;
        l[i][i] = Math.sqrt(sum);
      } else {
        l[i][j] = sum / l[j][j];
      }
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i][k] * y[k];
    y[i] = sum / l[i][i];
  }
  const s = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < n; k++) sum -= l[k][i] * s[k];
    s[i] = sum / l[i][i];
  }
  return s;
}

import { hyp2f1 } from './hypergeometric';
import { finishFit, ModelFitError } from './model-fit-error';
import {
  LOG_PARAMETER_BOUND,
  divergedLogParameters,
  minimizeStepwise,
  newtonStepwise,
  runToEnd,
  runYielding,
  type MinimizeResult,
  type Stepwise,
} from './optimize';
import { digamma, logAddExp, logGamma } from './special-functions';

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { abs, exp, log, pow } = Math;

/**
 * What the BG/NBD model needs to know about one customer, as of the end of the
 * calibration period. Time is in weeks in Rapport, but any unit works as long
 * as every summary and every horizon `t` use the same one.
 */
export interface PurchaseSummary {
  /** Repeat purchases: the number of distinct purchase days after the first one. */
  x: number;
  /** Recency: time from the first purchase to the last one (0 when `x = 0`; ignored then). */
  tx: number;
  /** Age: time from the first purchase to the end of the calibration period. */
  T: number;
}

/**
 * BG/NBD parameters. While active, a customer buys at Poisson rate λ ~ Gamma(r, α);
 * after each purchase they drop out with probability p ~ Beta(a, b).
 */
export interface BetaGeoParams {
  /** Shape of the purchase-rate distribution. */
  r: number;
  /** Scale of the purchase-rate distribution, in the time unit of the data. */
  alpha: number;
  /** First shape of the dropout-probability distribution. */
  a: number;
  /** Second shape of the dropout-probability distribution. */
  b: number;
}

/** A fitted BG/NBD model: the maximum-likelihood parameters and how they were found. */
export interface BetaGeoFit extends BetaGeoParams {
  /** Total log-likelihood of the sample at the parameters. */
  logLikelihood: number;
  /** Iterations spent: Nelder–Mead's, and Newton's steps where they polished the fit. */
  iterations: number;
  /** Whether the optimiser met its tolerances (see {@link MinimizeResult.converged}). */
  converged: boolean;
  /** Customers in the sample. */
  sampleSize: number;
}

/** Options for {@link fitBetaGeo}. */
export interface FitBetaGeoOptions {
  /** Where the search starts. @defaultValue `{ r: 1, alpha: mean T, a: 1, b: 1 }` */
  initial?: Partial<BetaGeoParams>;
  /** Fewest customers the fit accepts. @defaultValue 10 */
  minCustomers?: number;
  /**
   * With more than 5,000 distinct (x, t_x, T), start from a fit to the data
   * coarsened to a 4-week grid, then polish at full resolution from there
   * (Newton's method, stopping when the log parameters are settled to 10⁻⁶). False searches at
   * full resolution from `initial` only, to 10⁻⁹. @defaultValue true
   */
  coarseStart?: boolean;
}

const PARAMETER_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/** Below this many customers a fit is refused; four parameters need more than a handful of points. */
export const BG_NBD_MIN_CUSTOMERS = 10;

/**
 * BG/NBD log-likelihood of a sample: the sum over customers of the log of
 * Fader, Hardie & Lee (2005, "Counting Your Customers the Easy Way",
 * Marketing Science 24(2)), eq. 6:
 *
 * L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
 *   + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),
 *
 * evaluated with ln Γ and log-sum-exp so that large x and T neither overflow
 * nor underflow. For x = 0 only the first term exists and t_x plays no part.
 */
export function betaGeoLogLikelihood(params: BetaGeoParams, summaries: readonly PurchaseSummary[]): number {
  summaries.forEach(validateSummary);
  return groupedLogLikelihood(params, groupSummaries(summaries));
}

/**
 * Fits the BG/NBD model by maximum likelihood (Fader, Hardie & Lee 2005). The
 * search runs over the logarithms of (r, α, a, b), which keeps them positive
 * without constraints; customers with identical (x, t_x, T) are evaluated once.
 *
 * @throws {@link ModelFitError} `INSUFFICIENT_DATA` with fewer than
 *   `minCustomers` customers or when nobody bought twice (the dropout process
 *   is then unidentified); `MODEL_FIT_FAILED` when the likelihood keeps
 *   rising as a parameter runs off to 0 or infinity (see {@link divergedLogParameters}).
 * @throws RangeError when a summary is malformed (the message names its index).
 * @example fitBetaGeo(cdnowSummaries) // ≈ { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, … }
 */
export function fitBetaGeo(summaries: readonly PurchaseSummary[], options: FitBetaGeoOptions = {}): BetaGeoFit {
  return runToEnd(fitBetaGeoStepwise(summaries, options));
}

/** {@link fitBetaGeo} giving the event loop a turn every few milliseconds (see {@link runYielding}). */
export function fitBetaGeoYielding(summaries: readonly PurchaseSummary[], options: FitBetaGeoOptions = {}): Promise<BetaGeoFit> {
  return runYielding(fitBetaGeoStepwise(summaries, options));
}

function* fitBetaGeoStepwise(summaries: readonly PurchaseSummary[], options: FitBetaGeoOptions): Stepwise<BetaGeoFit> {
  summaries.forEach(validateSummary);
  const minCustomers = options.minCustomers ?? BG_NBD_MIN_CUSTOMERS;
  if (summaries.length < minCustomers) {
    throw new ModelFitError('INSUFFICIENT_DATA', 'BG/NBD', `BG/NBD needs at least ${minCustomers} customers to fit; got ${summaries.length}`);
  }
  if (!summaries.some((s) => s.x > 0)) {
    throw new ModelFitError(
      'INSUFFICIENT_DATA',
      'BG/NBD',
      `BG/NBD needs at least one customer with a repeat purchase; none of the ${summaries.length} has one`,
    );
  }

  const groups = groupSummaries(summaries);
  const meanT = summaries.reduce((sum, s) => sum + s.T, 0) / summaries.length;
  const initial = { r: 1, alpha: meanT > 0 ? meanT : 1, a: 1, b: 1, ...options.initial };
  const start = [initial.r, initial.alpha, initial.a, initial.b].map(log);
  const toParams = ([r, alpha, a, b]: readonly number[]): BetaGeoParams => ({
    r: exp(r),
    alpha: exp(alpha),
    a: exp(a),
    b: exp(b),
  });
  // Many distinct groups (real dates: t_x and T in days): the search first finds the neighbourhood of the
  // optimum on a coarse copy of the data (t_x and T on a 4-week grid, a few thousand groups), then Newton's
  // method with the likelihood's gradient polishes it at full resolution in a few steps (Nelder–Mead spent
  // hundreds of evaluations of the full data there) until the log parameters are settled to 1e-6; where
  // Newton cannot go on, Nelder–Mead polishes from the coarse optimum with a small simplex instead.
  let rough: MinimizeResult | null = null;
  if (groups.length > COARSE_START_GROUPS && options.coarseStart !== false) {
    const coarse = prepareGroups(groupSummaries(groups.map((g) => ({ x: g.x, tx: coarseWeeks(g.tx), T: coarseWeeks(g.T), count: g.count }))));
    const found = yield* minimizeStepwise((logParams) => -preparedLogLikelihood(toParams(logParams), coarse), start, {
      bound: LOG_PARAMETER_BOUND,
      fTolerance: 1e-9,
      xTolerance: 1e-4,
      maxRestarts: 1,
    });
    if (Number.isFinite(found.value) && found.atBound.length === 0) rough = found;
  }
  const prepared = prepareGroups(groups);
  let polished = rough
    ? yield* newtonStepwise((logParams) => negativeLogLikelihoodAndGradient(logParams, prepared), rough.x, { bound: LOG_PARAMETER_BOUND, xTolerance: 1e-6 })
    : null;
  polished ??= yield* minimizeStepwise((logParams) => -preparedLogLikelihood(toParams(logParams), prepared), rough?.x ?? start, {
    bound: LOG_PARAMETER_BOUND,
    ...(rough ? { initialStep: COARSE_POLISH_STEP, xTolerance: 1e-6 } : {}),
  });
  const result = { ...polished, iterations: polished.iterations + (rough?.iterations ?? 0), evaluations: polished.evaluations + (rough?.evaluations ?? 0) };

  const params = toParams(result.x);
  return finishFit(
    'BG/NBD',
    params,
    PARAMETER_NAMES,
    result,
    divergedLogParameters(result),
    'the data do not identify the model, e.g. too few customers have bought again or lapsed',
    summaries.length,
  );
}

/**
 * Probability that a customer with history (x, t_x, T) is still active at T
 * (Fader, Hardie & Lee 2005; derived in Fader, Hardie & Lee 2008, "Computing
 * P(alive) Using the BG/NBD Model"):
 *
 * P(alive) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
 *
 * A customer who never bought again has not had a chance to drop out (dropout
 * happens only right after a purchase), so P(alive | x = 0) = 1.
 *
 * @example probabilityAlive({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, 2, 30.43, 38.86) // ≈ 0.727
 */
export function probabilityAlive(params: BetaGeoParams, x: number, tx: number, T: number): number {
  validateParams(params);
  validateSummary({ x, tx, T });
  if (x === 0) return 1;
  const { r, alpha, a, b } = params;
  const logOdds = log(a) - log(b + x - 1) + (r + x) * (log(alpha + T) - log(alpha + tx));
  return 1 / (1 + exp(logOdds));
}

/**
 * Expected number of purchases in (T, T + t] of a customer with history
 * (x, t_x, T) — Fader, Hardie & Lee (2005), eq. 10:
 *
 * E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1)
 *   · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
 *   / [1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)].
 *
 * The power and the ₂F₁ are evaluated as one product by Euler's transformation
 * (A&S 15.3.3), (1−z)^(r+x) ₂F₁(r+x, b+x; c; z) = (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; c; z)
 * with z = t/(α+T+t), c = a+b+x−1: for a customer with many purchases the two
 * factors of eq. 10 would otherwise over- and underflow separately.
 *
 * At a = 1 eq. 10 is 0/0 with a finite limit; there the mean of the two sides
 * at a ± 10⁻⁶ is returned.
 *
 * @param t Length of the prediction window, in the time unit of the data.
 * @example expectedPurchases(cdnowParams, 39, 2, 30.43, 38.86) // expected purchases in the next 39 weeks
 */
export function expectedPurchases(params: BetaGeoParams, t: number, x: number, tx: number, T: number): number {
  validateParams(params);
  validateSummary({ x, tx, T });
  if (!(Number.isFinite(t) && t >= 0)) throw new RangeError(`t must be a finite number ≥ 0, got ${t}`);
  if (t === 0) return 0;
  const nearOne = 1e-6;
  if (abs(params.a - 1) < nearOne) {
    const below = conditionalExpectation({ ...params, a: 1 - nearOne }, t, x, tx, T);
    const above = conditionalExpectation({ ...params, a: 1 + nearOne }, t, x, tx, T);
    return (below + above) / 2;
  }
  return conditionalExpectation(params, t, x, tx, T);
}

function conditionalExpectation(params: BetaGeoParams, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  const z = t / (alpha + T + t);
  const c = a + b + x - 1;
  const survivingTerm = pow(1 - z, a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z);
  return (c / (a - 1)) * (1 - survivingTerm) * probabilityAlive(params, x, tx, T);
}

interface SummaryGroup {
  x: number;
  tx: number;
  T: number;
  count: number;
}

function groupSummaries(summaries: readonly (PurchaseSummary & { count?: number })[]): SummaryGroup[] {
  const groups = new Map<string, SummaryGroup>();
  for (const { x, tx, T, count = 1 } of summaries) {
    const recency = x === 0 ? 0 : tx;
    const key = `${x}|${recency}|${T}`;
    const group = groups.get(key);
    if (group) group.count += count;
    else groups.set(key, { x, tx: recency, T, count });
  }
  return [...groups.values()];
}

/** Above this many distinct (x, t_x, T) the BG/NBD search starts from a fit to coarsened data. */
const COARSE_START_GROUPS = 5_000;
/** Simplex edge (log space) of the full-resolution search that starts at the coarse optimum. */
const COARSE_POLISH_STEP = 0.05;
/** A time in weeks on the coarse grid (4 weeks) of the starting fit; rounding keeps t_x ≤ T. */
function coarseWeeks(weeks: number): number {
  return Math.round(weeks / 4) * 4;
}

/**
 * The groups in the form the likelihood reads fast: per group the index of
 * its x, T and t_x among the distinct values, so that Γ terms are computed
 * once per distinct x and ln(α + T), ln(α + t_x) once per distinct T and t_x.
 */
interface PreparedGroups {
  count: Float64Array;
  xs: Float64Array;
  xIndex: Int32Array;
  tIndex: Int32Array;
  /** −1 when x = 0. */
  txIndex: Int32Array;
  distinctX: Float64Array;
  distinctT: Float64Array;
  distinctTx: Float64Array;
}

function prepareGroups(groups: readonly SummaryGroup[]): PreparedGroups {
  const index = (values: Map<number, number>, value: number) => {
    let i = values.get(value);
    if (i === undefined) values.set(value, (i = values.size));
    return i;
  };
  const xValues = new Map<number, number>();
  const tValues = new Map<number, number>();
  const txValues = new Map<number, number>();
  const n = groups.length;
  const prepared = {
    count: new Float64Array(n),
    xs: new Float64Array(n),
    xIndex: new Int32Array(n),
    tIndex: new Int32Array(n),
    txIndex: new Int32Array(n),
  };
  groups.forEach(({ x, tx, T, count }, g) => {
    prepared.count[g] = count;
    prepared.xs[g] = x;
    prepared.xIndex[g] = index(xValues, x);
    prepared.tIndex[g] = index(tValues, T);
    prepared.txIndex[g] = x > 0 ? index(txValues, tx) : -1;
  });
  return {
    ...prepared,
    distinctX: Float64Array.from(xValues.keys()),
    distinctT: Float64Array.from(tValues.keys()),
    distinctTx: Float64Array.from(txValues.keys()),
  };
}

function groupedLogLikelihood(params: BetaGeoParams, groups: readonly SummaryGroup[]): number {
  return preparedLogLikelihood(params, prepareGroups(groups));
}

/** Eq. 6 summed over the groups, each distinct x, T and t_x evaluated once (see {@link PreparedGroups}). */
function preparedLogLikelihood(params: BetaGeoParams, data: PreparedGroups): number {
  const { r, alpha, a, b } = params;
  if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return -Infinity;
  // Terms that depend on x only, shared by every group with the same x.
  const logGammaR = logGamma(r);
  const logGammaB = logGamma(b);
  const logGammaAB = logGamma(a + b);
  const logA = log(a);
  const logAlpha = log(alpha);
  const { distinctX, distinctT, distinctTx } = data;
  const base = new Float64Array(distinctX.length);
  const dropout = new Float64Array(distinctX.length);
  for (let k = 0; k < distinctX.length; k++) {
    const x = distinctX[k];
    base[k] = logGamma(r + x) - logGammaR + r * logAlpha + logGammaAB + logGamma(b + x) - logGammaB - logGamma(a + b + x);
    dropout[k] = x > 0 ? logA - log(b + x - 1) : 0;
  }
  const logAlphaT = distinctT.map((T) => log(alpha + T));
  const logAlphaTx = distinctTx.map((tx) => log(alpha + tx));
  const { count, xs, xIndex, tIndex, txIndex } = data;
  let total = 0;
  for (let g = 0; g < count.length; g++) {
    const k = xIndex[g];
    const rx = r + xs[g];
    const active = -rx * logAlphaT[tIndex[g]];
    const t = txIndex[g];
    const perCustomer = t >= 0 ? logAddExp(active, dropout[k] - rx * logAlphaTx[t]) : active;
    total += count[g] * (base[k] + perCustomer);
  }
  return total;
}

/**
 * The gradient of {@link betaGeoLogLikelihood} with respect to (r, α, a, b)
 * (the derivatives of eq. 6 summed over customers; see
 * {@link negativeLogLikelihoodAndGradient}). Zero at the maximum a fit finds.
 */
export function betaGeoLogLikelihoodGradient(params: BetaGeoParams, summaries: readonly PurchaseSummary[]): BetaGeoParams {
  validateParams(params);
  summaries.forEach(validateSummary);
  const names = ['r', 'alpha', 'a', 'b'] as const;
  const { gradient } = negativeLogLikelihoodAndGradient(
    names.map((name) => log(params[name])),
    prepareGroups(groupSummaries(summaries)),
  );
  const [r, alpha, a, b] = names.map((name, i) => -gradient[i] / params[name]);
  return { r, alpha, a, b };
}

/**
 * −(eq. 6 summed over the groups) and its gradient with respect to
 * (ln r, ln α, ln a, ln b), for Newton's method. With w the share of the
 * first term of eq. 6 in a customer's likelihood (1 when x = 0), a
 * customer's log-likelihood ℓ has
 *
 * ∂ℓ/∂r = ψ(r+x) − ψ(r) + ln α − w ln(α+T) − (1−w) ln(α+t_x),
 * ∂ℓ/∂α = r/α − (r+x) (w/(α+T) + (1−w)/(α+t_x)),
 * ∂ℓ/∂a = ψ(a+b) − ψ(a+b+x) + (1−w)/a,
 * ∂ℓ/∂b = ψ(a+b) + ψ(b+x) − ψ(b) − ψ(a+b+x) − (1−w)/(b+x−1),
 *
 * and ∂ℓ/∂ln θ = θ ∂ℓ/∂θ. Terms of x alone are summed per distinct x.
 */
function negativeLogLikelihoodAndGradient(logParams: readonly number[], data: PreparedGroups): { value: number; gradient: number[] } {
  const [r, alpha, a, b] = logParams.map(exp) as [number, number, number, number];
  const logGammaR = logGamma(r);
  const logGammaB = logGamma(b);
  const logGammaAB = logGamma(a + b);
  const logA = log(a);
  const logAlpha = log(alpha);
  const psiR = digamma(r);
  const psiB = digamma(b);
  const psiAB = digamma(a + b);
  const { distinctX, distinctT, distinctTx, count, xs, xIndex, tIndex, txIndex } = data;
  const base = new Float64Array(distinctX.length);
  const dropout = new Float64Array(distinctX.length);
  const customersOfX = new Float64Array(distinctX.length);
  for (let g = 0; g < count.length; g++) customersOfX[xIndex[g]] += count[g];
  let total = 0;
  // Sums over customers of the terms of x alone.
  let dR = 0;
  let dA = 0;
  let dB = 0;
  let customers = 0;
  for (let k = 0; k < distinctX.length; k++) {
    const x = distinctX[k];
    base[k] = logGamma(r + x) - logGammaR + r * logAlpha + logGammaAB + logGamma(b + x) - logGammaB - logGamma(a + b + x);
    dropout[k] = x > 0 ? logA - log(b + x - 1) : 0;
    const n = customersOfX[k];
    const psiABX = digamma(a + b + x);
    customers += n;
    total += n * base[k];
    dR += n * (digamma(r + x) - psiR + logAlpha);
    dA += n * (psiAB - psiABX);
    dB += n * (psiAB + digamma(b + x) - psiB - psiABX);
  }
  const logAlphaT = distinctT.map((T) => log(alpha + T));
  const inverseAlphaT = distinctT.map((T) => 1 / (alpha + T));
  const logAlphaTx = distinctTx.map((tx) => log(alpha + tx));
  const inverseAlphaTx = distinctTx.map((tx) => 1 / (alpha + tx));
  let dAlpha = customers * (r / alpha);
  for (let g = 0; g < count.length; g++) {
    const c = count[g];
    const x = xs[g];
    const rx = r + x;
    const ti = tIndex[g];
    const active = -rx * logAlphaT[ti];
    const t = txIndex[g];
    if (t < 0) {
      total += c * active;
      dR -= c * logAlphaT[ti];
      dAlpha -= c * rx * inverseAlphaT[ti];
      continue;
    }
    const dropped = dropout[xIndex[g]] - rx * logAlphaTx[t];
    total += c * logAddExp(active, dropped);
    // The share of the first term, 1 / (1 + e^(dropped − active)), computed without overflow.
    const d = dropped - active;
    const w = d > 0 ? exp(-d) / (1 + exp(-d)) : 1 / (1 + exp(d));
    const v = 1 - w;
    dR -= c * (w * logAlphaT[ti] + v * logAlphaTx[t]);
    dAlpha -= c * rx * (w * inverseAlphaT[ti] + v * inverseAlphaTx[t]);
    dA += (c * v) / a;
    dB -= (c * v) / (b + x - 1);
  }
  return { value: -total, gradient: [-r * dR, -alpha * dAlpha, -a * dA, -b * dB] };
}

function validateParams(params: BetaGeoParams): void {
  for (const name of ['r', 'alpha', 'a', 'b'] as const) {
    const value = params[name];
    if (!(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`BG/NBD parameter ${name} must be a finite number > 0, got ${value}`);
    }
  }
}

function validateSummary(summary: PurchaseSummary, index?: number): void {
  const where = index === undefined ? '' : `summaries[${index}]: `;
  const { x, tx, T } = summary;
  if (!(Number.isInteger(x) && x >= 0)) throw new RangeError(`${where}x must be an integer ≥ 0, got ${x}`);
  if (!(Number.isFinite(T) && T >= 0)) throw new RangeError(`${where}T must be a finite number ≥ 0, got ${T}`);
  if (x > 0 && !(Number.isFinite(tx) && tx >= 0 && tx <= T)) {
    throw new RangeError(`${where}tx must lie in [0, T] = [0, ${T}], got ${tx}`);
  }
}

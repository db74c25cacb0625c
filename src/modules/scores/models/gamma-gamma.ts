import { finishFit, ModelFitError } from './model-fit-error';
import { LOG_PARAMETER_BOUND, divergedLogParameters, minimizeStepwise, newtonStepwise, runToEnd, runYielding, type Stepwise } from './optimize';
import { digamma, logGamma } from './special-functions';

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { exp, log } = Math;

/** What the Gamma-Gamma model needs to know about one customer's spend. */
export interface SpendSummary {
  /** Repeat purchases in the calibration period (customers with `x = 0` are ignored by the fit). */
  x: number;
  /** Mean value of those repeat purchases; must be > 0 when `x > 0`. */
  m: number;
}

/**
 * Gamma-Gamma parameters: a transaction's value is Gamma(p, ν), and ν varies
 * across customers as Gamma(q, γ), so a customer's mean spend is p/ν.
 */
export interface GammaGammaParams {
  /** Shape of the per-transaction value distribution. */
  p: number;
  /** Shape of the distribution of ν across customers; the population mean spend exists only for q > 1. */
  q: number;
  /** Scale of the distribution of ν, in the currency of the data. */
  gamma: number;
}

/** A fitted Gamma-Gamma model: the maximum-likelihood parameters and how they were found. */
export interface GammaGammaFit extends GammaGammaParams {
  /** Total log-likelihood (of the mean spends) over the customers used. */
  logLikelihood: number;
  /** Iterations spent: Nelder–Mead's, and Newton's steps where they polished the fit. */
  iterations: number;
  /** Whether the optimiser met its tolerances. */
  converged: boolean;
  /** Customers used: those with at least one repeat purchase. */
  sampleSize: number;
}

/** Options for {@link fitGammaGamma}. */
export interface FitGammaGammaOptions {
  /** Where the search starts. @defaultValue `{ p: 1, q: 1, gamma: 1 }` */
  initial?: Partial<GammaGammaParams>;
  /** Fewest repeat customers the fit accepts. @defaultValue 10 */
  minCustomers?: number;
}

const PARAMETER_NAMES = ['p', 'q', 'gamma'] as const;

/** Below this many repeat customers a Gamma-Gamma fit is refused. */
export const GAMMA_GAMMA_MIN_CUSTOMERS = 10;

/**
 * Log-likelihood of the customers' mean repeat spends under the Gamma-Gamma
 * model (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value";
 * Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for
 * Customer Base Analysis", JMR 42(4)). The mean of x Gamma(p, ν) values is
 * Gamma(px, νx); integrating ν over Gamma(q, γ) gives, per customer,
 *
 * f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px−1) x^(px) / (γ + m x)^(px+q).
 *
 * Customers with x = 0 carry no spend information here and are skipped.
 */
export function gammaGammaLogLikelihood(params: GammaGammaParams, summaries: readonly SpendSummary[]): number {
  return logLikelihoodOf(params, repeatCustomers(summaries));
}

/**
 * The gradient of {@link gammaGammaLogLikelihood} with respect to (p, q, γ)
 * (see {@link negativeLogLikelihoodAndGradient}). Zero at the maximum a fit finds.
 */
export function gammaGammaLogLikelihoodGradient(params: GammaGammaParams, summaries: readonly SpendSummary[]): GammaGammaParams {
  validateParams(params);
  const { gradient } = negativeLogLikelihoodAndGradient([params.p, params.q, params.gamma].map(log), prepare(repeatCustomers(summaries)));
  return { p: -gradient[0] / params.p, q: -gradient[1] / params.q, gamma: -gradient[2] / params.gamma };
}

/**
 * Fits the Gamma-Gamma spend model by maximum likelihood over the customers
 * with x > 0, searching over log p, log q and log γ.
 *
 * The model assumes spend is independent of purchase frequency; check that
 * correlation on the data before trusting its CLV.
 *
 * @throws {@link ModelFitError} `INSUFFICIENT_DATA` with fewer than
 *   `minCustomers` repeat customers; `MODEL_FIT_FAILED` when the likelihood
 *   keeps rising as a parameter runs off to 0 or infinity (see {@link divergedLogParameters}).
 * @throws RangeError when a summary is malformed (the message names its index).
 * @example fitGammaGamma(cdnowSummaries) // ≈ { p: 6.25, q: 3.74, gamma: 15.44, sampleSize: 946, … }
 */
export function fitGammaGamma(summaries: readonly SpendSummary[], options: FitGammaGammaOptions = {}): GammaGammaFit {
  return runToEnd(fitGammaGammaStepwise(summaries, options));
}

/** {@link fitGammaGamma} giving the event loop a turn every few milliseconds (see {@link runYielding}). */
export function fitGammaGammaYielding(summaries: readonly SpendSummary[], options: FitGammaGammaOptions = {}): Promise<GammaGammaFit> {
  return runYielding(fitGammaGammaStepwise(summaries, options));
}

function* fitGammaGammaStepwise(summaries: readonly SpendSummary[], options: FitGammaGammaOptions): Stepwise<GammaGammaFit> {
  const customers = repeatCustomers(summaries);
  const minCustomers = options.minCustomers ?? GAMMA_GAMMA_MIN_CUSTOMERS;
  if (customers.length < minCustomers) {
    throw new ModelFitError(
      'INSUFFICIENT_DATA',
      'Gamma-Gamma',
      `Gamma-Gamma needs at least ${minCustomers} customers with a repeat purchase; got ${customers.length}`,
    );
  }
  const initial = { p: 1, q: 1, gamma: 1, ...options.initial };
  const toParams = ([p, q, gamma]: readonly number[]): GammaGammaParams => ({
    p: exp(p),
    q: exp(q),
    gamma: exp(gamma),
  });
  const prepared = prepare(customers);
  const objective = (logParams: readonly number[]) => -preparedLogLikelihood(toParams(logParams), prepared);
  const start = [initial.p, initial.q, initial.gamma].map(log);
  // Nelder–Mead to the neighbourhood of the maximum, then Newton's method with the likelihood's gradient to it
  // (a few evaluations where the simplex needed hundreds); where Newton cannot go on, Nelder–Mead all the way.
  const rough = yield* minimizeStepwise(objective, start, { bound: LOG_PARAMETER_BOUND, fTolerance: 1e-9, xTolerance: 1e-3, maxRestarts: 0 });
  const polished =
    Number.isFinite(rough.value) && rough.atBound.length === 0
      ? yield* newtonStepwise((logParams) => negativeLogLikelihoodAndGradient(logParams, prepared), rough.x, { bound: LOG_PARAMETER_BOUND, xTolerance: 1e-7 })
      : null;
  const result = polished
    ? { ...polished, iterations: polished.iterations + rough.iterations, evaluations: polished.evaluations + rough.evaluations }
    : yield* minimizeStepwise(objective, start, { bound: LOG_PARAMETER_BOUND });
  const params = toParams(result.x);
  return finishFit(
    'Gamma-Gamma',
    params,
    PARAMETER_NAMES,
    result,
    divergedLogParameters(result),
    'the spends do not identify the model, e.g. they hardly vary between customers or not at all within them',
    customers.length,
  );
}

/**
 * Expected value of a customer's future transactions given x repeat purchases
 * with mean value m (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie
 * 2013, "The Gamma-Gamma Model of Monetary Value"):
 *
 * E[M | p, q, γ, m, x] = p (γ + m x) / (p x + q − 1),
 *
 * a weighted average of the population mean pγ/(q−1) and the customer's own
 * mean m, with weight px/(px+q−1) on m. For x = 0 it is the population mean
 * and m is ignored.
 *
 * @throws RangeError when p x + q ≤ 1 (the expectation does not exist) or an argument is malformed.
 * @example expectedAverageValue({ p: 6.25, q: 3.74, gamma: 15.44 }, 2, 22.35)
 */
export function expectedAverageValue(params: GammaGammaParams, x: number, m: number): number {
  validateParams(params);
  const { p, q, gamma } = params;
  if (!(Number.isInteger(x) && x >= 0)) throw new RangeError(`x must be an integer ≥ 0, got ${x}`);
  if (x > 0 && !(Number.isFinite(m) && m > 0)) throw new RangeError(`m must be a finite number > 0 when x > 0, got ${m}`);
  const denominator = p * x + q - 1;
  if (!(denominator > 0)) {
    throw new RangeError(`Gamma-Gamma expected value does not exist for p·x + q ≤ 1 (p=${p}, q=${q}, x=${x})`);
  }
  return (p * (gamma + (x > 0 ? x * m : 0))) / denominator;
}

function repeatCustomers(summaries: readonly SpendSummary[]): SpendSummary[] {
  const customers: SpendSummary[] = [];
  summaries.forEach(({ x, m }, index) => {
    if (!(Number.isInteger(x) && x >= 0)) throw new RangeError(`summaries[${index}]: x must be an integer ≥ 0, got ${x}`);
    if (x === 0) return;
    if (!(Number.isFinite(m) && m > 0)) {
      throw new RangeError(`summaries[${index}]: m must be a finite number > 0 for a repeat customer, got ${m}`);
    }
    customers.push({ x, m });
  });
  return customers;
}

/**
 * The repeat customers in the form the likelihood reads fast: the terms that
 * depend on the data only are summed once, Γ terms are grouped by x, and only
 * ln(γ + m·x) is left per customer and evaluation.
 */
interface PreparedSpend {
  n: number;
  /** Σ x·ln m, Σ ln m, Σ x·ln x. */
  sumXLogM: number;
  sumLogM: number;
  sumXLogX: number;
  /** Distinct x and how many customers have each. */
  distinctX: Float64Array;
  countX: Float64Array;
  /** Per customer: x and m·x. */
  x: Float64Array;
  mx: Float64Array;
}

function prepare(customers: readonly SpendSummary[]): PreparedSpend {
  const n = customers.length;
  const x = new Float64Array(n);
  const mx = new Float64Array(n);
  const counts = new Map<number, number>();
  let sumXLogM = 0;
  let sumLogM = 0;
  let sumXLogX = 0;
  for (let i = 0; i < n; i++) {
    const c = customers[i];
    x[i] = c.x;
    mx[i] = c.m * c.x;
    const logM = log(c.m);
    sumXLogM += c.x * logM;
    sumLogM += logM;
    sumXLogX += c.x * log(c.x);
    counts.set(c.x, (counts.get(c.x) ?? 0) + 1);
  }
  return { n, sumXLogM, sumLogM, sumXLogX, distinctX: Float64Array.from(counts.keys()), countX: Float64Array.from(counts.values()), x, mx };
}

/**
 * Σ over customers of ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + m x),
 * regrouped (see {@link PreparedSpend}); the same sum as term by term.
 */
function preparedLogLikelihood(params: GammaGammaParams, data: PreparedSpend): number {
  const { p, q, gamma } = params;
  if (!(p > 0 && q > 0 && gamma > 0)) return -Infinity;
  let total = data.n * (q * log(gamma) - logGamma(q)) + p * data.sumXLogM - data.sumLogM + p * data.sumXLogX;
  const { distinctX, countX, x, mx } = data;
  for (let k = 0; k < distinctX.length; k++) {
    const px = p * distinctX[k];
    total += countX[k] * (logGamma(px + q) - logGamma(px));
  }
  let spend = 0;
  for (let i = 0; i < x.length; i++) spend += (p * x[i] + q) * log(gamma + mx[i]);
  return total - spend;
}

/**
 * −{@link preparedLogLikelihood} and its gradient with respect to (ln p,
 * ln q, ln γ), for Newton's method:
 *
 * ∂ℓ/∂p = Σ x (ψ(px+q) − ψ(px) + ln m + ln x − ln(γ + m x)),
 * ∂ℓ/∂q = Σ (ψ(px+q) − ψ(q) + ln γ − ln(γ + m x)),
 * ∂ℓ/∂γ = Σ (q/γ − (px+q)/(γ + m x)),
 *
 * and ∂ℓ/∂ln θ = θ ∂ℓ/∂θ; the ψ terms are summed per distinct x.
 */
function negativeLogLikelihoodAndGradient(logParams: readonly number[], data: PreparedSpend): { value: number; gradient: number[] } {
  const [p, q, gamma] = logParams.map(exp) as [number, number, number];
  const { n, distinctX, countX, x, mx } = data;
  const logGammaParam = log(gamma);
  let total = n * (q * logGammaParam - logGamma(q)) + p * data.sumXLogM - data.sumLogM + p * data.sumXLogX;
  let dP = data.sumXLogM + data.sumXLogX;
  let dQ = n * (logGammaParam - digamma(q));
  let dGamma = (n * q) / gamma;
  for (let k = 0; k < distinctX.length; k++) {
    const xk = distinctX[k];
    const px = p * xk;
    const psiPXQ = digamma(px + q);
    total += countX[k] * (logGamma(px + q) - logGamma(px));
    dP += countX[k] * xk * (psiPXQ - digamma(px));
    dQ += countX[k] * psiPXQ;
  }
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const weight = p * xi + q;
    const logSpend = log(gamma + mx[i]);
    total -= weight * logSpend;
    dP -= xi * logSpend;
    dQ -= logSpend;
    dGamma -= weight / (gamma + mx[i]);
  }
  return { value: -total, gradient: [-p * dP, -q * dQ, -gamma * dGamma] };
}

function logLikelihoodOf(params: GammaGammaParams, customers: readonly SpendSummary[]): number {
  return preparedLogLikelihood(params, prepare(customers));
}

function validateParams(params: GammaGammaParams): void {
  for (const name of ['p', 'q', 'gamma'] as const) {
    const value = params[name];
    if (!(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`Gamma-Gamma parameter ${name} must be a finite number > 0, got ${value}`);
    }
  }
}

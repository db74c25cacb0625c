import { digamma, gammaSign, isNonPositiveInteger, logGamma } from './special-functions';

// Bound once: under Jest's vm sandbox every lookup of the global `Math` is an order of magnitude slower.
const { abs, exp, log, max, min, pow, round } = Math;

/**
 * Options for {@link hyp2f1}. The defaults suit the BG/NBD model; change them
 * only to trade accuracy for speed.
 */
export interface Hyp2f1Options {
  /** Relative size of the last term at which a series is considered summed. @defaultValue 1e-15 */
  tolerance?: number;
  /** Terms after which a series that has not converged is an error. @defaultValue 100000 */
  maxTerms?: number;
}

/** Thrown when a series does not converge within `maxTerms`, or 2F1 is undefined at the point. */
export class HypergeometricError extends RangeError {
  override readonly name = 'HypergeometricError';
}

interface ResolvedOptions {
  tolerance: number;
  maxTerms: number;
}

/** Below this distance from an integer, c − a − b is treated as the integer (A&S 15.3.10–12). */
const INTEGER_SNAP = 1e-9;
/**
 * Between INTEGER_SNAP and this distance, the generic 1 − z connection formula
 * loses about log10(1/distance) digits to cancellation between its two terms;
 * the plain series is used instead while z is small enough for it to be cheap.
 */
const NEAR_INTEGER = 1e-4;
const NEAR_INTEGER_SERIES_LIMIT = 0.995;

/**
 * The Gauss hypergeometric function
 * ₂F₁(a, b; c; z) = Σₙ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ for real arguments and z ≤ 1.
 *
 * The defining series is summed directly only on 0 ≤ z ≤ 1/2, where it
 * converges at least as fast as 2⁻ⁿ (and up to z = 0.995 when c − a − b lies
 * within 10⁻⁴ of an integer, where the connection formula would cancel).
 * Elsewhere the function is reached by the linear transformations of
 * Abramowitz & Stegun (1964), "Handbook of Mathematical Functions", §15.3:
 *
 * - z < 0: Pfaff's transformation (15.3.4/15.3.5) to z/(z − 1) ∈ (0, 1);
 * - 1/2 < z < 1: the 1 − z connection formula (15.3.6), or, when c − a − b is an
 *   integer m, its logarithmic limit (15.3.10–15.3.12, with ψ);
 * - z = 1: Gauss's theorem (15.1.20), defined only when c − a − b > 0;
 * - Euler's transformation (15.3.3) when it shortens the series, e.g. for the
 *   BG/NBD arguments (r + x, b + x; a + b + x − 1), where it turns a slowly
 *   converging series with large parameters into one with small ones;
 * - terminating series (a, b, c − a or c − b a non-positive integer) are summed
 *   exactly as polynomials, for any z.
 *
 * Used by the BG/NBD conditional expectation (Fader, Hardie & Lee 2005,
 * "Counting Your Customers the Easy Way", Marketing Science 24(2), eq. 10).
 *
 * @throws {@link HypergeometricError} when c is a non-positive integer (the
 *   series is undefined), z > 1, z = 1 with c − a − b ≤ 0, or a series fails
 *   to converge.
 * @example hyp2f1(1, 1, 2, 0.5) // = −ln(1 − 0.5)/0.5 ≈ 1.3862943611198906
 */
export function hyp2f1(a: number, b: number, c: number, z: number, options: Hyp2f1Options = {}): number {
  const resolved: ResolvedOptions = { tolerance: options.tolerance ?? 1e-15, maxTerms: options.maxTerms ?? 100_000 };
  for (const [name, value] of [
    ['a', a],
    ['b', b],
    ['c', c],
    ['z', z],
  ] as const) {
    if (!Number.isFinite(value)) throw new HypergeometricError(`hyp2f1: ${name} must be a finite number, got ${value}`);
  }
  if (z === 0 || a === 0 || b === 0) return 1;
  const terminatesAt = terminatingOrder(a, b);
  if (isNonPositiveInteger(c) && !(terminatesAt !== undefined && terminatesAt < -c + 1)) {
    throw new HypergeometricError(`hyp2f1: c = ${c} is a non-positive integer; the series is undefined`);
  }
  if (z > 1) throw new HypergeometricError(`hyp2f1: z = ${z} > 1 is outside the real domain`);
  return evaluate(a, b, c, z, resolved);
}

function evaluate(a: number, b: number, c: number, z: number, options: ResolvedOptions): number {
  if (terminatingOrder(a, b) !== undefined) return series(a, b, c, z, options);
  if (terminatingOrder(c - a, c - b) !== undefined && z < 1) {
    return pow(1 - z, c - a - b) * series(c - a, c - b, c, z, options);
  }
  if (z === 1) return gaussSum(a, b, c);
  if (z < 0) {
    // Pfaff (15.3.4 or 15.3.5): of the two forms, take the one whose new parameter (c − b or c − a) is smaller.
    const w = z / (z - 1);
    return abs(c - b) <= abs(c - a) ? pow(1 - z, -a) * evaluate(a, c - b, c, w, options) : pow(1 - z, -b) * evaluate(c - a, b, c, w, options);
  }
  if (z <= 0.5) return seriesOrEuler(a, b, c, z, options);

  const s = c - a - b;
  const m = round(s);
  const distance = abs(s - m);
  if (distance < NEAR_INTEGER && distance >= INTEGER_SNAP && z <= NEAR_INTEGER_SERIES_LIMIT) {
    return seriesOrEuler(a, b, c, z, options);
  }
  if (distance < INTEGER_SNAP) return integerConnection(a, b, m, z, options);
  return connection(a, b, c, z, options);
}

/** The order n at which (a)ₙ(b)ₙ vanishes, when a or b is a non-positive integer. */
function terminatingOrder(a: number, b: number): number | undefined {
  const orders = [a, b].filter(isNonPositiveInteger).map((v) => -v);
  return orders.length === 0 ? undefined : min(...orders);
}

function seriesOrEuler(a: number, b: number, c: number, z: number, options: ResolvedOptions): number {
  // The n-th term ratio tends to z either way; the early terms grow with |a·b| against |(c−a)(c−b)|.
  if (abs((c - a) * (c - b)) < abs(a * b)) {
    return pow(1 - z, c - a - b) * series(c - a, c - b, c, z, options);
  }
  return series(a, b, c, z, options);
}

/**
 * Sums the defining series. The stopping rule waits until the term ratio has
 * settled (n past every parameter, so no factor (p + n) can still change sign)
 * and then bounds the tail by a geometric series in the larger of the current
 * ratio and its limit z.
 */
function series(a: number, b: number, c: number, z: number, options: ResolvedOptions): number {
  let term = 1;
  let sum = 1;
  const settled = max(abs(a), abs(b), abs(c)) + 2;
  for (let n = 0; n < options.maxTerms; n++) {
    if (a + n === 0 || b + n === 0) return sum;
    const ratio = ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    term *= ratio;
    sum += term;
    if (n >= settled) {
      // The ratio tends to z; it may still be rising towards it, so bound the tail with the larger.
      const r = max(abs(ratio), abs(z));
      if (r < 1 && abs(term) * (r / (1 - r)) <= options.tolerance * abs(sum)) return sum;
    }
    if (!Number.isFinite(sum)) break;
  }
  throw new HypergeometricError(`hyp2f1: series 2F1(${a}, ${b}; ${c}; ${z}) did not converge in ${options.maxTerms} terms`);
}

/** Γ-ratio ∏Γ(numerators)/∏Γ(denominators), in log space so large arguments do not overflow. */
function gammaRatio(numerators: readonly number[], denominators: readonly number[]): number {
  let sign = 1;
  let logMagnitude = 0;
  for (const v of denominators) {
    const s = gammaSign(v);
    if (s === 0) return 0;
    sign *= s;
    logMagnitude -= logGamma(v);
  }
  for (const v of numerators) {
    const s = gammaSign(v);
    if (s === 0) throw new HypergeometricError(`hyp2f1: Γ(${v}) is infinite in a connection coefficient`);
    sign *= s;
    logMagnitude += logGamma(v);
  }
  return sign * exp(logMagnitude);
}

/** Gauss's theorem, A&S 15.1.20. */
function gaussSum(a: number, b: number, c: number): number {
  if (c - a - b <= 0) {
    throw new HypergeometricError(`hyp2f1: 2F1(${a}, ${b}; ${c}; 1) diverges because c − a − b ≤ 0`);
  }
  return gammaRatio([c, c - a - b], [c - a, c - b]);
}

/** A&S 15.3.6, for c − a − b not an integer. */
function connection(a: number, b: number, c: number, z: number, options: ResolvedOptions): number {
  const w = 1 - z;
  const s = c - a - b;
  const first = gammaRatio([c, s], [c - a, c - b]);
  const second = gammaRatio([c, -s], [a, b]);
  const firstPart = first === 0 ? 0 : first * evaluate(a, b, 1 - s, w, options);
  const secondPart = second === 0 ? 0 : second * pow(w, s) * evaluate(c - a, c - b, 1 + s, w, options);
  return firstPart + secondPart;
}

/**
 * A&S 15.3.10 (m = 0), 15.3.11 (c = a + b + m) and 15.3.12 (c = a + b − m):
 * the logarithmic cases of the 1 − z connection, where the Γ-coefficients of
 * 15.3.6 have poles that cancel. Here a, b are not non-positive integers.
 */
function integerConnection(a: number, b: number, m: number, z: number, options: ResolvedOptions): number {
  const w = 1 - z;
  if (m >= 0) {
    const finite = m === 0 ? 0 : gammaRatio([m, a + b + m], [a + m, b + m]) * finiteSum(a, b, m, w);
    const prefactor = pow(-w, m) * gammaRatio([a + b + m], [a, b]);
    return finite - prefactor * logSeries(a + m, b + m, m, w, options);
  }
  const k = -m;
  const finite = gammaRatio([k, a + b - k], [a, b]) * pow(w, -k) * finiteSum(a - k, b - k, k, w);
  const prefactor = (k % 2 === 0 ? 1 : -1) * gammaRatio([a + b - k], [a - k, b - k]);
  return prefactor === 0 ? finite : finite - prefactor * logSeries(a, b, k, w, options);
}

/** Σₙ₌₀^{m−1} (p)ₙ(q)ₙ / (n!(1−m)ₙ) wⁿ, the finite part of A&S 15.3.11/15.3.12. */
function finiteSum(p: number, q: number, m: number, w: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n + 1 < m; n++) {
    term *= ((p + n) * (q + n) * w) / ((n + 1) * (1 - m + n));
    sum += term;
  }
  return sum;
}

/**
 * Σₙ (p)ₙ(q)ₙ / (n!(n+m)!) wⁿ [ln w − ψ(n+1) − ψ(n+m+1) + ψ(p+n) + ψ(q+n)], the
 * logarithmic series shared by A&S 15.3.10–15.3.12 (w < 1/2). Past the
 * parameters the coefficient ratio is below w and the bracket tends to ln w,
 * so the tail is bounded by a geometric series in the current ratio.
 */
function logSeries(p: number, q: number, m: number, w: number, options: ResolvedOptions): number {
  const logW = log(w);
  let coefficient = exp(-logGamma(m + 1));
  let sum = 0;
  const settled = max(abs(p), abs(q)) + 2;
  for (let n = 0; n < options.maxTerms; n++) {
    const bracket = logW - digamma(n + 1) - digamma(n + m + 1) + safeDigamma(p + n) + safeDigamma(q + n);
    sum += coefficient * bracket;
    const ratio = abs(((p + n) * (q + n) * w) / ((n + 1) * (n + m + 1)));
    if (coefficient === 0) return sum;
    const bound = max(ratio, w);
    if (n >= settled && bound < 1) {
      const tail = abs(coefficient) * (abs(bracket) + 1) * (bound / (1 - bound));
      if (tail <= options.tolerance * abs(sum)) return sum;
    }
    coefficient *= ((p + n) * (q + n) * w) / ((n + 1) * (n + m + 1));
  }
  throw new HypergeometricError(`hyp2f1: logarithmic series did not converge in ${options.maxTerms} terms`);
}

/** ψ at a pole only ever multiplies a zero coefficient in {@link logSeries}. */
function safeDigamma(x: number): number {
  return isNonPositiveInteger(x) ? 0 : digamma(x);
}

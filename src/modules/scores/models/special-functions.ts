/**
 * Gamma-family special functions used by the customer-base models: ln|Γ|,
 * the sign of Γ, Γ itself and the digamma function ψ = Γ'/Γ, for real
 * arguments including the negative axis.
 *
 * @packageDocumentation
 */

// Bound once: under Jest's vm sandbox every lookup of a global (`Math`, `Number`) is an order of magnitude slower,
// which turns a sub-second model fit into a minute-long test.
const { PI, abs, exp, floor, log, log1p, max, sin, tan } = Math;
const { NEGATIVE_INFINITY } = Number;

/**
 * Lanczos coefficients for g = 7, n = 9 (Numerical Recipes, 3rd ed., §6.1;
 * Godfrey's set): relative error below 2·10⁻¹⁵ for Re(x) > 0.5.
 */
const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;

const HALF_LOG_TWO_PI = 0.5 * log(2 * PI);

/** True when `x` is 0, −1, −2, …: a pole of Γ and ψ. */
export function isNonPositiveInteger(x: number): boolean {
  return x <= 0 && Number.isInteger(x);
}

/**
 * ln|Γ(x)| by the Lanczos approximation (Lanczos 1964, "A Precision
 * Approximation of the Gamma Function", SIAM J. Numer. Anal. B 1), with the
 * reflection formula Γ(x)Γ(1−x) = π / sin(πx) for x < 0.5.
 *
 * @returns `Infinity` at the poles x = 0, −1, −2, …
 * @example logGamma(10) // ≈ 12.8018274800814 = ln(9!)
 */
export function logGamma(x: number): number {
  if (x >= 0.5) {
    const z = x - 1;
    let series = LANCZOS_COEFFICIENTS[0];
    for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i++) series += LANCZOS_COEFFICIENTS[i] / (z + i);
    const t = z + LANCZOS_G + 0.5;
    return HALF_LOG_TWO_PI + (z + 0.5) * log(t) - t + log(series);
  }
  if (Number.isNaN(x)) return Number.NaN;
  if (isNonPositiveInteger(x)) return Number.POSITIVE_INFINITY;
  return log(PI / abs(sin(PI * x))) - logGamma(1 - x);
}

/**
 * The sign of Γ(x): +1 for x > 0; for negative non-integer x it alternates
 * between the poles, negative on (−1, 0), positive on (−2, −1), …
 *
 * @returns 0 at the poles.
 */
export function gammaSign(x: number): -1 | 0 | 1 {
  if (x > 0) return 1;
  if (isNonPositiveInteger(x)) return 0;
  return floor(x) % 2 === 0 ? 1 : -1;
}

/**
 * Γ(x) = sign · exp(ln|Γ(x)|); overflows to ±Infinity for x ≳ 171.6.
 */
export function gamma(x: number): number {
  const sign = gammaSign(x);
  return sign === 0 ? Number.NaN : sign * exp(logGamma(x));
}

/**
 * The digamma function ψ(x) = d/dx ln Γ(x): the recurrence ψ(x) = ψ(x+1) − 1/x
 * moves x above 10, where the asymptotic (Stirling) series is accurate to
 * double precision (Abramowitz & Stegun 6.3.18); negative arguments use the
 * reflection ψ(1−x) − ψ(x) = π cot(πx) (A&S 6.3.7).
 *
 * @returns `NaN` at the poles x = 0, −1, −2, …
 * @example digamma(1) // ≈ −0.5772156649015329 (−Euler's constant)
 */
export function digamma(x: number): number {
  if (Number.isNaN(x) || isNonPositiveInteger(x)) return Number.NaN;
  if (x < 0) return digamma(1 - x) - PI / tan(PI * x);
  let shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  // Bernoulli terms B₂ₖ/(2k x²ᵏ), k = 1…6
  const tail = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760))))));
  return shift + log(x) - 0.5 / x - tail;
}

/**
 * log(e^a + e^b) without overflow; either argument may be −Infinity.
 */
export function logAddExp(a: number, b: number): number {
  const larger = max(a, b);
  // With one argument −Infinity the formula below already returns the other; with both it would be NaN.
  if (larger === NEGATIVE_INFINITY) return larger;
  return larger + log1p(exp(-abs(a - b)));
}

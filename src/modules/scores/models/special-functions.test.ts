import { digamma, gamma, gammaSign, logAddExp, logGamma } from './special-functions';

describe('logGamma', () => {
  test.each([
    [1, 0],
    [2, 0],
    [0.5, 0.5 * Math.log(Math.PI)],
    [10, Math.log(362880)],
    [0.243, 1.31804358469967], // mpmath.loggamma(0.243)
    [100, 359.1342053695754], // ln(99!)
    [1e4, 82099.71749644238], // mpmath.loggamma(1e4)
  ])('ln Γ(%p) = %p', (x, expected) => {
    expect(logGamma(x)).toBeCloseTo(expected, 12);
  });

  test('matches ln|Γ| on the negative axis through the reflection formula', () => {
    // Γ(−0.5) = −2√π, Γ(−1.5) = 4√π/3
    expect(logGamma(-0.5)).toBeCloseTo(Math.log(2 * Math.sqrt(Math.PI)), 12);
    expect(logGamma(-1.5)).toBeCloseTo(Math.log((4 * Math.sqrt(Math.PI)) / 3), 12);
  });

  test('is infinite at the poles', () => {
    expect(logGamma(0)).toBe(Number.POSITIVE_INFINITY);
    expect(logGamma(-3)).toBe(Number.POSITIVE_INFINITY);
  });

  test('satisfies Γ(x + 1) = x Γ(x) across the range', () => {
    for (const x of [0.01, 0.3, 0.7, 1.5, 3.3, 17.2, 150.5]) {
      expect(logGamma(x + 1) - logGamma(x)).toBeCloseTo(Math.log(x), 12);
    }
  });
});

describe('gamma and gammaSign', () => {
  test('carry the sign of Γ between the poles', () => {
    expect(gammaSign(2.5)).toBe(1);
    expect(gammaSign(-0.5)).toBe(-1);
    expect(gammaSign(-1.5)).toBe(1);
    expect(gammaSign(-2)).toBe(0);
    expect(gamma(-0.5)).toBeCloseTo(-2 * Math.sqrt(Math.PI), 12);
    expect(gamma(5)).toBeCloseTo(24, 10);
  });
});

describe('digamma', () => {
  const eulerGamma = 0.5772156649015329;
  test.each([
    [1, -eulerGamma],
    [0.5, -eulerGamma - 2 * Math.log(2)],
    [2, 1 - eulerGamma],
    [10.5, 2.303001034297686], // mpmath.digamma(10.5)
    [0.243, -4.35109386442321], // mpmath.digamma(0.243)
    [-0.5, 0.03648997397857652], // ψ(−1/2) = 2 − γ − 2 ln 2
  ])('ψ(%p) = %p', (x, expected) => {
    expect(digamma(x)).toBeCloseTo(expected, 12);
  });

  test('is undefined at the poles', () => {
    expect(digamma(0)).toBeNaN();
    expect(digamma(-4)).toBeNaN();
  });
});

describe('logAddExp', () => {
  test('adds in log space without overflow', () => {
    expect(logAddExp(Math.log(2), Math.log(3))).toBeCloseTo(Math.log(5), 14);
    expect(logAddExp(1000, 1000)).toBeCloseTo(1000 + Math.log(2), 12);
    expect(logAddExp(Number.NEGATIVE_INFINITY, -5)).toBe(-5);
  });
});

import { HypergeometricError, hyp2f1 } from './hypergeometric';

/** |actual − expected| ≤ tolerance · |expected|. */
function expectRelativelyClose(actual: number, expected: number, tolerance = 1e-12): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

/** The defining series, summed naively to many terms: a reference for moderate z only. */
function naiveSeries(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 20_000; n++) {
    term *= ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    sum += term;
  }
  return sum;
}

describe('hyp2f1 against closed forms', () => {
  test.each([-50, -5, -1, -0.5, -1e-3, 1e-3, 0.3, 0.5, 0.75, 0.9, 0.999, 0.999999])('2F1(1, 1; 2; z) = −ln(1 − z)/z at z = %p', (z) => {
    expectRelativelyClose(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z);
  });

  test.each([
    [0.7, 2.3, -20],
    [2.5, 1.1, -0.9],
    [0.243, 4.4, 0.6],
    [3.2, 0.5, 0.95],
    [-2.5, 1.7, 0.99],
  ])('2F1(a, b; b; z) = (1 − z)^−a for a = %p, b = %p, z = %p', (a, b, z) => {
    expectRelativelyClose(hyp2f1(a, b, b, z), Math.pow(1 - z, -a));
  });

  test.each([0.1, 0.5, 0.8, 0.95, 0.9999])('2F1(1/2, 1/2; 3/2; s²) = asin(s)/s at s = %p', (s) => {
    expectRelativelyClose(hyp2f1(0.5, 0.5, 1.5, s * s), Math.asin(s) / s);
  });

  test.each([0.1, 1, 3, 30])('2F1(1/2, 1/2; 3/2; −s²) = asinh(s)/s at s = %p', (s) => {
    expectRelativelyClose(hyp2f1(0.5, 0.5, 1.5, -s * s), Math.asinh(s) / s);
  });

  test.each([0.2, 1, 2, 10])('2F1(1/2, 1; 3/2; −s²) = atan(s)/s at s = %p', (s) => {
    expectRelativelyClose(hyp2f1(0.5, 1, 1.5, -s * s), Math.atan(s) / s);
  });

  // c − a − b = 0, 1 and −1: the logarithmic cases of the 1 − z connection formula.
  test.each([0.6, 0.9, 0.99])('2F1(1/2, 1; 3/2; s²) = atanh(s)/s at s² = %p (c − a − b = 0)', (z) => {
    const s = Math.sqrt(z);
    expectRelativelyClose(hyp2f1(0.5, 1, 1.5, z), Math.atanh(s) / s);
  });

  test.each([0.6, 0.9, 0.999])('2F1(1, 1; 3; z) = 2((1 − z) ln(1 − z) + z)/z² at z = %p (c − a − b = 1)', (z) => {
    expectRelativelyClose(hyp2f1(1, 1, 3, z), (2 * ((1 - z) * Math.log1p(-z) + z)) / (z * z));
  });

  test.each([0.6, 0.9, 0.999])('2F1(2, 2; 3; z) = 2/(1 − z) + 2(ln(1 − z) + z)/z² at z = %p (c − a − b = −1)', (z) => {
    expectRelativelyClose(hyp2f1(2, 2, 3, z), 2 / (1 - z) + (2 * (Math.log1p(-z) + z)) / (z * z));
  });
});

describe('hyp2f1 against tabulated values', () => {
  test('reproduces the algebraic values 2F1(1/3, 2/3; 5/6; 27/32) = 8/5 and 2F1(1/4, 1/2; 3/4; 80/81) = 9/5', () => {
    // Algebraic special values (z near 1), confirmed with mpmath at 30 digits.
    expectRelativelyClose(hyp2f1(1 / 3, 2 / 3, 5 / 6, 27 / 32), 8 / 5);
    expectRelativelyClose(hyp2f1(1 / 4, 1 / 2, 3 / 4, 80 / 81), 9 / 5);
  });

  test("Gauss's theorem at z = 1 and Kummer's theorem at z = −1", () => {
    // 2F1(a, b; c; 1) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)); with a = 1/2, b = 1/2, c = 2: 4/π.
    expectRelativelyClose(hyp2f1(0.5, 0.5, 2, 1), 4 / Math.PI);
    // 2F1(a, b; 1+a−b; −1) = Γ(1+a−b)Γ(1+a/2)/(Γ(1+a)Γ(1+a/2−b)); a = 1, b = 1/2: Γ(3/2)Γ(3/2)/(Γ(2)Γ(1)) = π/4.
    expectRelativelyClose(hyp2f1(1, 0.5, 1.5, -1), Math.PI / 4);
  });

  // Reference values: mpmath 1.3 `hyp2f1` at 30 significant digits, written as the nearest double.
  test.each([
    [0.7, 1.3, 2.9, 0.75, 1.411442190061625],
    [0.7, 1.3, 2.0, 0.75, 1.75818673388124],
    [3.5, -0.2, 1.1, 0.8, -2.2111570072062934],
    [2.5, 1.5, 0.5, -0.7, -0.280996739247968],
    [0.3, 0.4, 0.2, -9, 0.20020784809005426],
    [20.24, 22.4, 22.2, 0.9, 2.708244493102131e20],
    [0.243, 2.426, 2.219, 0.95, 2.4461866770309917],
    [2.243, 4.426, 4.219, 0.999, 19296250.906926643],
    [1.5, 2.5, 4.0, 0.97, 9.784734861085157],
    [1.5, 2.5, 1.0, 0.97, 62166.089653329655],
    [0.5, 1.25, 0.750001, 0.9, 8.05083975527241],
  ])('2F1(%p, %p; %p; %p) = %p', (a, b, c, z, expected) => {
    expectRelativelyClose(hyp2f1(a, b, c, z), expected, 1e-11);
  });
});

describe('hyp2f1 transformations', () => {
  test('the 1 − z connection formula agrees with the plain series where both converge', () => {
    const cases: [number, number, number][] = [
      [0.243, 2.426, 2.219],
      [5.243, 7.426, 7.219],
      [0.2, 0.3, 1.7],
      [1.1, -0.4, 0.35],
      [2.5, 2.5, 5.0000001],
    ];
    for (const [a, b, c] of cases) {
      for (const z of [0.55, 0.7, 0.8]) expectRelativelyClose(hyp2f1(a, b, c, z), naiveSeries(a, b, c, z), 1e-11);
    }
  });

  test("Pfaff's transformation agrees with the plain series on −1/2 < z < 0", () => {
    for (const [a, b, c] of [
      [0.243, 2.426, 2.219],
      [3.3, -1.7, 0.6],
    ] as const) {
      for (const z of [-0.45, -0.2]) expectRelativelyClose(hyp2f1(a, b, c, z), naiveSeries(a, b, c, z), 1e-12);
    }
  });

  test('stays accurate when c − a − b is within 1e-5 or 1e-10 of an integer', () => {
    // mpmath 1.3 at 30 digits, written as the nearest double. Near an integer the Γ-coefficients of the connection formula nearly cancel.
    expectRelativelyClose(hyp2f1(0.5, 1.25, 0.750001, 0.99), 76.91043921894293, 1e-11);
    expectRelativelyClose(hyp2f1(1, 1, 2 + 1e-5, 0.999), 6.914483888860598, 1e-9);
    expectRelativelyClose(hyp2f1(1, 1, 2 + 1e-10, 0.99), 4.651687055787239, 1e-9);
  });

  test('sums terminating series exactly as polynomials, for any z', () => {
    // 2F1(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1))
    const b = 1.5;
    const c = 2.5;
    for (const z of [-40, -1, 0.3, 0.99, 1]) {
      expectRelativelyClose(hyp2f1(-2, b, c, z), 1 - (2 * b * z) / c + (b * (b + 1) * z * z) / (c * (c + 1)));
    }
  });

  test('is 1 at z = 0', () => {
    expect(hyp2f1(2.2, 3.3, 4.4, 0)).toBe(1);
  });
});

describe('hyp2f1 domain', () => {
  test('rejects a non-positive integer c', () => {
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(HypergeometricError);
    expect(() => hyp2f1(1, 1, 0, 0.5)).toThrow(/non-positive integer/);
  });

  test('accepts a non-positive integer c when the series ends before its pole', () => {
    // 2F1(−1, b; −2; z) = 1 + bz/2
    expect(hyp2f1(-1, 3, -2, 0.5)).toBeCloseTo(1.75, 14);
  });

  test('rejects z > 1 and a divergent z = 1', () => {
    expect(() => hyp2f1(1, 1, 2, 1.5)).toThrow(/outside the real domain/);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(/diverges/);
  });

  test('rejects non-finite arguments', () => {
    expect(() => hyp2f1(Number.NaN, 1, 2, 0.5)).toThrow(HypergeometricError);
  });
});

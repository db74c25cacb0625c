import { minimize } from './optimize';

const rosenbrock = ([x, y]: readonly number[]) => 100 * (y! - x! * x!) ** 2 + (1 - x!) ** 2;

describe('minimize', () => {
  test('finds the minimum of the Rosenbrock valley from the classic start (−1.2, 1)', () => {
    const result = minimize(rosenbrock, [-1.2, 1]);
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 6);
    expect(result.x[1]).toBeCloseTo(1, 6);
    expect(result.value).toBeLessThan(1e-12);
    expect(result.iterations).toBeGreaterThan(0);
    expect(result.evaluations).toBeGreaterThan(result.iterations);
  });

  test('finds the minimum of an ill-conditioned quadratic in 6 dimensions', () => {
    const centre = [3, -2, 0.5, 10, -7, 1];
    const scales = [1, 10, 100, 0.1, 1000, 5];
    const quadratic = (x: readonly number[]) => x.reduce((s, v, i) => s + scales[i]! * (v - centre[i]!) ** 2, 0);
    const result = minimize(quadratic, [0, 0, 0, 0, 0, 0], { initialStep: 1 });
    expect(result.converged).toBe(true);
    result.x.forEach((v, i) => expect(v).toBeCloseTo(centre[i]!, 5));
  });

  test('treats NaN and Infinity as points to avoid, not as minima', () => {
    // ln is undefined for x ≤ 0; the minimum of x − 2 ln x is at x = 2.
    const result = minimize(([x]) => x! - 2 * Math.log(x!), [0.1], { initialStep: 5 });
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(2, 6);
  });

  test('reports that it did not converge when the iteration budget runs out', () => {
    const result = minimize(rosenbrock, [-1.2, 1], { maxIterationsPerRun: 5, maxRestarts: 1 });
    expect(result.converged).toBe(false);
    expect(result.iterations).toBeLessThanOrEqual(10);
    expect(result.restarts).toBe(1);
  });

  test('rejects an empty or non-finite start and a mismatched step vector', () => {
    expect(() => minimize(() => 0, [])).toThrow(RangeError);
    expect(() => minimize(() => 0, [Number.NaN])).toThrow(/finite/);
    expect(() => minimize(() => 0, [0, 0], { initialStep: [1] })).toThrow(/initialStep/);
  });
});

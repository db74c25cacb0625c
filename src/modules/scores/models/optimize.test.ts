import { divergedLogParameters, minimize, newtonStepwise, runToEnd, type MinimizeResult } from './optimize';

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

  test('stops at the total iteration budget however many restarts remain', () => {
    const result = minimize(rosenbrock, [-1.2, 1], { maxIterationsPerRun: 10, maxIterations: 35, maxRestarts: 100 });
    expect(result.iterations).toBeLessThanOrEqual(35);
    expect(result.converged).toBe(false);
  });

  test('keeps a search without a minimum inside the box and reports the coordinate at its edge', () => {
    const result = minimize(([x, y]) => x! + (y! - 1) ** 2, [0, 0], { bound: 5 });
    expect(result.x[0]).toBeCloseTo(-5, 3);
    expect(result.x[1]).toBeCloseTo(1, 3);
    expect(result.atBound).toEqual([0]);
    expect(minimize(rosenbrock, [-1.2, 1], { bound: 5 }).atBound).toEqual([]);
  });

  test('rejects an empty or non-finite start and a mismatched step vector', () => {
    expect(() => minimize(() => 0, [])).toThrow(RangeError);
    expect(() => minimize(() => 0, [Number.NaN])).toThrow(/finite/);
    expect(() => minimize(() => 0, [0, 0], { initialStep: [1] })).toThrow(/initialStep/);
  });
});

describe('divergedLogParameters', () => {
  const result = (overrides: Partial<MinimizeResult>): MinimizeResult => ({
    x: [0.5, -1],
    value: 0,
    iterations: 10,
    evaluations: 20,
    restarts: 1,
    converged: true,
    atBound: [],
    ...overrides,
  });

  test('accepts a converged fit, even with a large parameter', () => {
    expect(divergedLogParameters(result({ x: [12, 0] }))).toEqual([]);
  });

  test('flags the coordinates at the edge of the box', () => {
    expect(divergedLogParameters(result({ x: [19.5, 0], atBound: [0] }))).toEqual([0]);
  });

  test('flags a non-converged fit drifting beyond e^±10', () => {
    expect(divergedLogParameters(result({ x: [0.5, -12], converged: false }))).toEqual([1]);
    expect(divergedLogParameters(result({ x: [0.5, -2], converged: false }))).toEqual([]);
  });
});

describe('newtonStepwise', () => {
  const withGradient = ([x, y]: readonly number[]) => ({
    value: rosenbrock([x!, y!]),
    gradient: [-400 * x! * (y! - x! * x!) - 2 * (1 - x!), 200 * (y! - x! * x!)],
  });

  test('polishes a start near the minimum of the Rosenbrock valley to the minimum in a few steps', () => {
    const result = runToEnd(newtonStepwise(withGradient, [0.9, 0.8]));
    expect(result).not.toBeNull();
    expect(result!.converged).toBe(true);
    expect(result!.x[0]).toBeCloseTo(1, 6);
    expect(result!.x[1]).toBeCloseTo(1, 6);
    expect(result!.iterations).toBeLessThan(20);
    // Each step: the gradient at n shifted points for the Hessian, then the step (halved when it does not descend).
    expect(result!.evaluations).toBeGreaterThanOrEqual(3 * result!.iterations);
  });

  test('converges where the last decrease is below the rounding of a large objective (a log-likelihood over many customers)', () => {
    const centre = [0.3, -1.2, 2.5, 0.8];
    const large = (x: readonly number[]) => ({
      value: 2e6 + x.reduce((s, v, i) => s + 50 * (i + 1) * (v - centre[i]!) ** 2 + (v - centre[i]!) ** 4, 0),
      gradient: x.map((v, i) => 100 * (i + 1) * (v - centre[i]!) + 4 * (v - centre[i]!) ** 3),
    });
    const result = runToEnd(
      newtonStepwise(
        large,
        centre.map((c) => c + 0.05),
      ),
    );
    expect(result?.converged).toBe(true);
    result!.x.forEach((v, i) => expect(v).toBeCloseTo(centre[i]!, 6));
  });

  test('gives up (null, for the caller to fall back) where the Hessian is not positive definite or values are not finite', () => {
    // At (0, 1) the valley's Hessian has a negative eigenvalue: not near a minimum.
    expect(runToEnd(newtonStepwise(withGradient, [0, 1]))).toBeNull();
    expect(runToEnd(newtonStepwise(() => ({ value: NaN, gradient: [0] }), [1]))).toBeNull();
    // Outside the bound the objective counts as undefined.
    expect(runToEnd(newtonStepwise(withGradient, [0.9, 0.8], { bound: 0.5 }))).toBeNull();
  });
});

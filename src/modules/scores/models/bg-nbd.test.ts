import {
  betaGeoLogLikelihood,
  betaGeoLogLikelihoodGradient,
  expectedPurchases,
  fitBetaGeo,
  fitBetaGeoYielding,
  probabilityAlive,
  type BetaGeoParams,
  type PurchaseSummary,
} from './bg-nbd';
import { hyp2f1 } from './hypergeometric';
import { ModelFitError } from './model-fit-error';
import { bgNbdByIntegration } from './test-support/bg-nbd-by-integration';
import { simulateBetaGeo } from './test-support/simulate';

/** The CDNOW estimates of Fader, Hardie & Lee (2005). */
const cdnow: BetaGeoParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

function expectRelativelyClose(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

/** Histories from "never came back" to "bought every week"; (x, t_x, T) in weeks. */
const histories: [number, number, number][] = [
  [0, 0, 38.86],
  [1, 2, 39],
  [2, 30.43, 38.86],
  [7, 35, 38],
  [20, 36, 38.5],
];

describe('betaGeoLogLikelihood', () => {
  test.each(histories)('equals the log of the individual likelihood integrated over λ and p, for x = %p, t_x = %p, T = %p', (x, tx, T) => {
    const reference = Math.log(bgNbdByIntegration(cdnow, x, tx, T).likelihood);
    expect(betaGeoLogLikelihood(cdnow, [{ x, tx, T }])).toBeCloseTo(reference, 8);
  });

  test('sums over customers, counting identical histories once per customer', () => {
    const one = betaGeoLogLikelihood(cdnow, [{ x: 2, tx: 30.43, T: 38.86 }]);
    const other = betaGeoLogLikelihood(cdnow, [{ x: 0, tx: 0, T: 20 }]);
    const sample: PurchaseSummary[] = [
      { x: 2, tx: 30.43, T: 38.86 },
      { x: 0, tx: 0, T: 20 },
      { x: 2, tx: 30.43, T: 38.86 },
    ];
    expect(betaGeoLogLikelihood(cdnow, sample)).toBeCloseTo(2 * one + other, 10);
  });

  test('ignores t_x when there is no repeat purchase', () => {
    expect(betaGeoLogLikelihood(cdnow, [{ x: 0, tx: 5, T: 20 }])).toBe(betaGeoLogLikelihood(cdnow, [{ x: 0, tx: 0, T: 20 }]));
  });

  test('stays finite for a very frequent buyer', () => {
    expect(Number.isFinite(betaGeoLogLikelihood(cdnow, [{ x: 2000, tx: 500, T: 520 }]))).toBe(true);
  });
});

describe('probabilityAlive', () => {
  test.each(histories)('matches the posterior computed by integration for x = %p, t_x = %p, T = %p', (x, tx, T) => {
    expectRelativelyClose(probabilityAlive(cdnow, x, tx, T), bgNbdByIntegration(cdnow, x, tx, T).probabilityAlive, 1e-10);
  });

  test('is 1 for a customer who never bought again, who has had no chance to drop out', () => {
    expect(probabilityAlive(cdnow, 0, 0, 52)).toBe(1);
  });

  test('falls as the time since the last purchase grows, for the same x and T', () => {
    const recent = probabilityAlive(cdnow, 3, 38, 39);
    const lapsed = probabilityAlive(cdnow, 3, 10, 39);
    // 1 / (1 + 0.793/4.426 · (43.414/42.414)^3.243) and 1 / (1 + 0.793/4.426 · (43.414/14.414)^3.243)
    expect(recent).toBeCloseTo(0.8381, 4);
    expect(lapsed).toBeCloseTo(0.1351, 4);
  });

  test('rejects malformed histories', () => {
    expect(() => probabilityAlive(cdnow, 1.5, 1, 2)).toThrow(/x must be an integer/);
    expect(() => probabilityAlive(cdnow, 2, 5, 3)).toThrow(/tx must lie in \[0, T\]/);
    expect(() => probabilityAlive({ ...cdnow, a: -1 }, 2, 1, 3)).toThrow(/parameter a/);
  });
});

describe('expectedPurchases', () => {
  test.each(histories)('matches the posterior expectation computed by integration for x = %p, t_x = %p, T = %p', (x, tx, T) => {
    const reference = bgNbdByIntegration(cdnow, x, tx, T);
    for (const t of [4.345, 39, 520]) {
      expectRelativelyClose(expectedPurchases(cdnow, t, x, tx, T), reference.expectedPurchases(t), 1e-6);
    }
  });

  test('equals eq. 10 of Fader, Hardie & Lee (2005) written with the original ₂F₁ arguments', () => {
    const { r, alpha, a, b } = cdnow;
    for (const [x, tx, T] of histories) {
      for (const t of [1, 39, 200]) {
        const z = t / (alpha + T + t);
        const bracket = 1 - Math.pow((alpha + T) / (alpha + T + t), r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z);
        const denominator = 1 + (x > 0 ? (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x) : 0);
        const literal = (((a + b + x - 1) / (a - 1)) * bracket) / denominator;
        expectRelativelyClose(expectedPurchases(cdnow, t, x, tx, T), literal, 1e-10);
      }
    }
  });

  test('for a brand-new customer equals the unconditional E[X(t)] of eq. 9', () => {
    const { r, alpha, a, b } = cdnow;
    const t = 52;
    const unconditional = ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
    expectRelativelyClose(expectedPurchases(cdnow, t, 0, 0, 0), unconditional, 1e-12);
  });

  test('is 0 over an empty window and grows with the window', () => {
    expect(expectedPurchases(cdnow, 0, 2, 30.43, 38.86)).toBe(0);
    const windows = [1, 4.345, 13, 39, 104, 520].map((t) => expectedPurchases(cdnow, t, 2, 30.43, 38.86));
    windows.slice(1).forEach((value, i) => expect(value).toBeGreaterThan(windows[i]!));
  });

  test('is continuous through a = 1, where eq. 10 is 0/0', () => {
    const at = expectedPurchases({ ...cdnow, a: 1 }, 39, 2, 30.43, 38.86);
    const near = expectedPurchases({ ...cdnow, a: 1.001 }, 39, 2, 30.43, 38.86);
    expect(Number.isFinite(at)).toBe(true);
    expectRelativelyClose(at, near, 1e-3);
    expectRelativelyClose(at, bgNbdByIntegration({ ...cdnow, a: 1 }, 2, 30.43, 38.86).expectedPurchases(39), 1e-6);
  });

  test('stays finite for a customer with many purchases and a long window', () => {
    const value = expectedPurchases(cdnow, 5200, 500, 519, 520);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(0);
  });

  test('rejects a negative window', () => {
    expect(() => expectedPurchases(cdnow, -1, 2, 30.43, 38.86)).toThrow(/t must be/);
  });
});

describe('fitBetaGeo', () => {
  test('recovers the parameters of a simulated customer base', () => {
    const truth: BetaGeoParams = { r: 0.5, alpha: 5, a: 0.8, b: 3 };
    const sample = simulateBetaGeo(truth, 10_000, { seed: 3, minT: 20, maxT: 52 });
    const fit = fitBetaGeo(sample);
    expect(fit.converged).toBe(true);
    expect(fit.sampleSize).toBe(10_000);
    expectRelativelyClose(fit.r, truth.r, 0.1);
    expectRelativelyClose(fit.alpha, truth.alpha, 0.1);
    expectRelativelyClose(fit.a, truth.a, 0.15);
    expectRelativelyClose(fit.b, truth.b, 0.15);
    expect(fit.logLikelihood).toBeCloseTo(betaGeoLogLikelihood(fit, sample), 8);
    // The maximum: moving any parameter by 1 % lowers the likelihood.
    for (const name of ['r', 'alpha', 'a', 'b'] as const) {
      for (const factor of [0.99, 1.01]) {
        expect(betaGeoLogLikelihood({ ...fit, [name]: fit[name] * factor }, sample)).toBeLessThan(fit.logLikelihood);
      }
    }
  });

  test('with many distinct histories, the coarse start reaches the same maximum as a full-resolution search', () => {
    const truth: BetaGeoParams = { r: 0.4, alpha: 12, a: 1.6, b: 5 };
    const sample = simulateBetaGeo(truth, 20_000, { seed: 11, minT: 1, maxT: 104 });
    const coarse = fitBetaGeo(sample);
    const direct = fitBetaGeo(sample, { coarseStart: false });
    expect(coarse.converged).toBe(true);
    expect(direct.converged).toBe(true);
    for (const name of ['r', 'alpha', 'a', 'b'] as const) expectRelativelyClose(coarse[name], direct[name], 1e-5);
    expect(coarse.logLikelihood).toBeCloseTo(direct.logLikelihood, 6);
    // Newton's method polished the coarse optimum in a few steps: the coarse search plus the polish take far fewer
    // iterations than one search at full resolution (a Nelder–Mead polish alone took about as many as the coarse search).
    expect(coarse.iterations).toBeLessThan(0.6 * direct.iterations);
  });

  test('the gradient of the log-likelihood is that of its finite differences, and vanishes at the fitted maximum', () => {
    const sample = simulateBetaGeo({ r: 0.4, alpha: 12, a: 1.6, b: 5 }, 3_000, { seed: 7, minT: 1, maxT: 104 });
    expect(sample.some((s) => s.x === 0) && sample.some((s) => s.x > 3)).toBe(true);
    const at: BetaGeoParams = { r: 0.5, alpha: 9, a: 1.2, b: 4 };
    const gradient = betaGeoLogLikelihoodGradient(at, sample);
    for (const name of ['r', 'alpha', 'a', 'b'] as const) {
      const h = at[name] * 1e-6;
      const numeric = (betaGeoLogLikelihood({ ...at, [name]: at[name] + h }, sample) - betaGeoLogLikelihood({ ...at, [name]: at[name] - h }, sample)) / (2 * h);
      expectRelativelyClose(gradient[name], numeric, 1e-5);
    }
    // At the maximum found from the coarse start (Newton's polish): each derivative is ~0 next to its size elsewhere.
    const many = simulateBetaGeo({ r: 0.4, alpha: 12, a: 1.6, b: 5 }, 20_000, { seed: 11, minT: 1, maxT: 104 });
    const fit = fitBetaGeo(many);
    const atFit = betaGeoLogLikelihoodGradient(fit, many);
    const away = betaGeoLogLikelihoodGradient({ r: fit.r * 1.01, alpha: fit.alpha * 1.01, a: fit.a * 1.01, b: fit.b * 1.01 }, many);
    for (const name of ['r', 'alpha', 'a', 'b'] as const) expect(Math.abs(atFit[name] * fit[name])).toBeLessThan(1e-3 * Math.abs(away[name] * fit[name]));
  });

  test('the yielding fit finds the same maximum and lets the event loop run while it searches', async () => {
    const sample = simulateBetaGeo({ r: 0.4, alpha: 12, a: 1.6, b: 5 }, 20_000, { seed: 5, minT: 1, maxT: 104 });
    let turns = 0;
    const count = () => {
      turns++;
      pending = setImmediate(count);
    };
    let pending = setImmediate(count);
    const straight = fitBetaGeo(sample);
    const turnsDuringStraightFit = turns;
    const yielding = await fitBetaGeoYielding(sample);
    clearImmediate(pending);
    expect(turnsDuringStraightFit).toBe(0);
    // At least one turn (it yields every 10 ms of work; the fit takes some tens of ms here).
    expect(turns).toBeGreaterThan(0);
    expect(yielding).toEqual(straight);
  });

  test('refuses fewer than 10 customers', () => {
    const few = Array.from({ length: 9 }, (_, i) => ({ x: i % 3, tx: i % 3 === 0 ? 0 : 5, T: 10 }));
    expect(() => fitBetaGeo(few)).toThrow(ModelFitError);
    try {
      fitBetaGeo(few);
    } catch (error) {
      expect(error).toMatchObject({ code: 'INSUFFICIENT_DATA', model: 'BG/NBD' });
      expect((error as Error).message).toMatch(/at least 10 customers to fit; got 9/);
    }
  });

  test('refuses a sample in which nobody bought twice', () => {
    const oneOff = Array.from({ length: 50 }, (_, i) => ({ x: 0, tx: 0, T: 10 + i }));
    expect(() => fitBetaGeo(oneOff)).toThrow(expect.objectContaining({ code: 'INSUFFICIENT_DATA' }));
  });

  test('fails with MODEL_FIT_FAILED when nobody has lapsed and the parameters run off', () => {
    // Everyone bought every week up to now: the purchase rates look identical (r, α → ∞) and nobody drops out.
    const regulars = Array.from({ length: 20 }, (_, i) => ({ x: 10 + i, tx: 10 + i, T: 10 + i }));
    expect(() => fitBetaGeo(regulars)).toThrow(expect.objectContaining({ code: 'MODEL_FIT_FAILED', model: 'BG/NBD' }));
    expect(() => fitBetaGeo(regulars)).toThrow(/diverged \(r=.*alpha=/);
  });

  test('names the malformed summary', () => {
    const sample = Array.from({ length: 20 }, () => ({ x: 1, tx: 2, T: 10 }));
    sample[7] = { x: 1, tx: 12, T: 10 };
    expect(() => fitBetaGeo(sample)).toThrow(/summaries\[7\]: tx must lie in \[0, T\]/);
  });
});

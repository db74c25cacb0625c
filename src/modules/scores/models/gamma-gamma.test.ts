import { expectedAverageValue, fitGammaGamma, gammaGammaLogLikelihood, gammaGammaLogLikelihoodGradient, type GammaGammaParams } from './gamma-gamma';
import { ModelFitError } from './model-fit-error';
import { minimize } from './optimize';
import { integratePositive } from './test-support/quadrature';
import { simulateGammaGamma } from './test-support/simulate';

/** The CDNOW estimates of Fader, Hardie & Lee (2005, "RFM and CLV"). */
const cdnow: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };

/**
 * The density of a mean spend m over x transactions, from the model's
 * definition: m ~ Gamma(px, νx) given ν, and ν ~ Gamma(q, γ), integrated over
 * ν numerically. Both Gamma densities are normalised numerically as well.
 */
function densityByIntegration({ p, q, gamma }: GammaGammaParams, x: number, m: number): number {
  const gammaFunction = (shape: number) => integratePositive((u) => u ** (shape - 1) * Math.exp(-u), -60 / shape, 6, 600);
  const normaliserOfSpend = gammaFunction(p * x);
  const normaliserOfNu = gammaFunction(q) / gamma ** q;
  const spendGivenNu = (nu: number) => ((nu * x) ** (p * x) * m ** (p * x - 1) * Math.exp(-nu * x * m)) / normaliserOfSpend;
  const nuDensity = (nu: number) => (nu ** (q - 1) * Math.exp(-gamma * nu)) / normaliserOfNu;
  return integratePositive((nu) => spendGivenNu(nu) * nuDensity(nu), -30, 4, 600);
}

describe('gammaGammaLogLikelihood', () => {
  test.each([
    [1, 22.35],
    [2, 35.2],
    [7, 9.99],
  ])('equals the log of the mixture density integrated over ν, for x = %p, m = %p', (x, m) => {
    expect(gammaGammaLogLikelihood(cdnow, [{ x, m }])).toBeCloseTo(Math.log(densityByIntegration(cdnow, x, m)), 8);
  });

  test('skips customers without a repeat purchase', () => {
    const withOneOffs = gammaGammaLogLikelihood(cdnow, [
      { x: 2, m: 30 },
      { x: 0, m: 0 },
    ]);
    expect(withOneOffs).toBe(gammaGammaLogLikelihood(cdnow, [{ x: 2, m: 30 }]));
  });
});

describe('expectedAverageValue', () => {
  test('is p(γ + m x)/(p x + q − 1)', () => {
    expect(expectedAverageValue(cdnow, 2, 22.35)).toBeCloseTo((6.25 * (15.44 + 2 * 22.35)) / (6.25 * 2 + 3.74 - 1), 12);
  });

  test('shrinks the customer mean towards the population mean, less so the more they bought', () => {
    const population = expectedAverageValue(cdnow, 0, 0);
    expect(population).toBeCloseTo((6.25 * 15.44) / 2.74, 12);
    const few = expectedAverageValue(cdnow, 1, 100);
    const many = expectedAverageValue(cdnow, 20, 100);
    expect(few).toBeGreaterThan(population);
    expect(few).toBeLessThan(many);
    expect(many).toBeLessThan(100);
  });

  test('rejects parameters for which the expectation does not exist, and malformed spends', () => {
    expect(() => expectedAverageValue({ p: 1, q: 0.5, gamma: 10 }, 0, 0)).toThrow(/does not exist/);
    expect(() => expectedAverageValue(cdnow, 2, -5)).toThrow(/m must be/);
    expect(() => expectedAverageValue({ ...cdnow, gamma: 0 }, 2, 5)).toThrow(/parameter gamma/);
  });
});

describe('fitGammaGamma', () => {
  test('recovers the parameters of simulated spends', () => {
    const truth: GammaGammaParams = { p: 6, q: 4, gamma: 15 };
    const frequencies = Array.from({ length: 4000 }, (_, i) => i % 9);
    const sample = simulateGammaGamma(truth, frequencies, 2);
    const fit = fitGammaGamma(sample);
    expect(fit.converged).toBe(true);
    expect(fit.sampleSize).toBe(frequencies.filter((x) => x > 0).length);
    expect(Math.abs(fit.p / truth.p - 1)).toBeLessThan(0.1);
    expect(Math.abs(fit.q / truth.q - 1)).toBeLessThan(0.1);
    expect(Math.abs(fit.gamma / truth.gamma - 1)).toBeLessThan(0.15);
    for (const name of ['p', 'q', 'gamma'] as const) {
      for (const factor of [0.99, 1.01]) {
        expect(gammaGammaLogLikelihood({ ...fit, [name]: fit[name] * factor }, sample)).toBeLessThan(fit.logLikelihood);
      }
    }
  });

  test('the gradient of the log-likelihood is that of its finite differences, and vanishes at the fitted maximum', () => {
    const sample = simulateGammaGamma(
      { p: 6, q: 4, gamma: 15 },
      Array.from({ length: 4000 }, (_, i) => i % 9),
      3,
    );
    const at: GammaGammaParams = { p: 5, q: 3, gamma: 12 };
    const gradient = gammaGammaLogLikelihoodGradient(at, sample);
    for (const name of ['p', 'q', 'gamma'] as const) {
      const h = at[name] * 1e-6;
      const numeric =
        (gammaGammaLogLikelihood({ ...at, [name]: at[name] + h }, sample) - gammaGammaLogLikelihood({ ...at, [name]: at[name] - h }, sample)) / (2 * h);
      expect(Math.abs(gradient[name] / numeric - 1)).toBeLessThan(1e-5);
    }
    const fit = fitGammaGamma(sample);
    // The same maximum as a Nelder–Mead search all the way, in well under half its iterations (Newton's polish).
    const simplex = minimize(([p, q, gamma]) => -gammaGammaLogLikelihood({ p: Math.exp(p!), q: Math.exp(q!), gamma: Math.exp(gamma!) }, sample), [0, 0, 0], {
      bound: 20,
    });
    expect(fit.logLikelihood).toBeCloseTo(-simplex.value, 6);
    expect(fit.iterations).toBeLessThan(simplex.iterations / 2);
    const atFit = gammaGammaLogLikelihoodGradient(fit, sample);
    const away = gammaGammaLogLikelihoodGradient({ p: fit.p * 1.01, q: fit.q * 1.01, gamma: fit.gamma * 1.01 }, sample);
    for (const name of ['p', 'q', 'gamma'] as const) expect(Math.abs(atFit[name])).toBeLessThan(1e-3 * Math.abs(away[name]));
  });

  test('refuses fewer than 10 repeat customers', () => {
    const repeat = Array.from({ length: 9 }, () => ({ x: 2, m: 10 }));
    const oneOff = Array.from({ length: 50 }, () => ({ x: 0, m: 0 }));
    expect(() => fitGammaGamma([...repeat, ...oneOff])).toThrow(ModelFitError);
    expect(() => fitGammaGamma([...repeat, ...oneOff])).toThrow(expect.objectContaining({ code: 'INSUFFICIENT_DATA', model: 'Gamma-Gamma' }));
  });

  test('fails with MODEL_FIT_FAILED when every customer spends the same', () => {
    const sample = Array.from({ length: 30 }, (_, i) => ({ x: 1 + (i % 4), m: 25 }));
    expect(() => fitGammaGamma(sample)).toThrow(expect.objectContaining({ code: 'MODEL_FIT_FAILED', model: 'Gamma-Gamma' }));
  });

  test('names a repeat customer without a positive mean spend', () => {
    const sample = Array.from({ length: 20 }, () => ({ x: 1, m: 10 }));
    sample[4] = { x: 3, m: 0 };
    expect(() => fitGammaGamma(sample)).toThrow(/summaries\[4\]: m must be a finite number > 0/);
  });
});

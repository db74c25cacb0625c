import { readFileSync } from 'node:fs';
import path from 'node:path';
import { betaGeoLogLikelihood, expectedPurchases, fitBetaGeo, probabilityAlive, type BetaGeoFit } from './bg-nbd';
import { customerLifetimeValue } from './clv';
import { fitGammaGamma, type GammaGammaFit } from './gamma-gamma';
import { bgNbdByIntegration } from './test-support/bg-nbd-by-integration';

/**
 * The CDNOW 1/10 sample (2,357 customers of the first quarter of 1997) and the
 * estimates published for it: BG/NBD by Fader, Hardie & Lee (2005, "Counting
 * Your Customers the Easy Way", Marketing Science 24(2)), Gamma-Gamma by
 * Fader, Hardie & Lee (2005, "RFM and CLV", JMR 42(4)) and `lifetimes`.
 * See test/fixtures/cdnow/README.md.
 */
const DATA_FILE = path.resolve(__dirname, '../../../../test/fixtures/cdnow/CDNOW_sample.txt');
const DAY_MS = 86_400_000;

/** Days since the epoch of a YYYYMMDD date, in UTC so no daylight-saving hour creeps in. */
function dayNumber(yyyymmdd: string): number {
  return Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) / DAY_MS;
}

interface CustomerHistory {
  id: number;
  /** Spend per purchase day, by day number: same-day purchases are one purchase. */
  spendByDay: Map<number, number>;
}

function readTransactions(): CustomerHistory[] {
  const customers = new Map<number, CustomerHistory>();
  for (const line of readFileSync(DATA_FILE, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const [, sampleId, date, , value] = line.trim().split(/\s+/);
    const id = Number(sampleId);
    const day = dayNumber(date!);
    const customer = customers.get(id) ?? { id, spendByDay: new Map<number, number>() };
    customer.spendByDay.set(day, (customer.spendByDay.get(day) ?? 0) + Number(value));
    customers.set(id, customer);
  }
  return [...customers.values()].sort((a, b) => a.id - b.id);
}

interface Summary {
  id: number;
  x: number;
  tx: number;
  T: number;
  m: number;
}

/** RFM summaries as of the end of `calibrationEnd` (inclusive), with time in weeks. */
function summarise(histories: readonly CustomerHistory[], calibrationEnd: number): Summary[] {
  return histories.map(({ id, spendByDay }) => {
    const days = [...spendByDay.keys()].sort((a, b) => a - b);
    const calibration = days.filter((day) => day <= calibrationEnd);
    const first = calibration[0]!;
    const repeats = calibration.slice(1);
    return {
      id,
      x: repeats.length,
      tx: (calibration[calibration.length - 1]! - first) / 7,
      T: (calibrationEnd - first) / 7,
      m: repeats.length === 0 ? 0 : repeats.reduce((sum, day) => sum + spendByDay.get(day)!, 0) / repeats.length,
    };
  });
}

const histories = readTransactions();
const summaries = summarise(histories, dayNumber('19970930'));
let betaGeo: BetaGeoFit;
let gammaGamma: GammaGammaFit;

beforeAll(() => {
  betaGeo = fitBetaGeo(summaries);
  gammaGamma = fitGammaGamma(summaries);
});

describe('CDNOW summaries as of 1997-09-30', () => {
  test('cover the 2,357 customers, 946 of whom bought again', () => {
    expect(summaries).toHaveLength(2357);
    expect(summaries.filter((s) => s.x > 0)).toHaveLength(946);
  });

  test('give customer 1 the published x = 2, t_x = 30.43, T = 38.86, m = 22.35', () => {
    const first = summaries[0]!;
    expect(first.id).toBe(1);
    expect(first.x).toBe(2);
    expect(first.tx).toBeCloseTo(30.43, 2);
    expect(first.T).toBeCloseTo(38.86, 2);
    // (29.73 + 14.96) / 2 = 22.345, published rounded to 22.35.
    expect(first.m).toBeCloseTo(22.345, 6);
  });
});

describe('BG/NBD on CDNOW', () => {
  test('reproduces r = 0.243, α = 4.414, a = 0.793, b = 2.426 and LL = −9582.4 (Fader, Hardie & Lee 2005)', () => {
    expect(betaGeo.converged).toBe(true);
    expect(betaGeo.sampleSize).toBe(2357);
    expect(betaGeo.r).toBeCloseTo(0.243, 2);
    expect(betaGeo.alpha).toBeCloseTo(4.414, 2);
    expect(betaGeo.a).toBeCloseTo(0.793, 2);
    expect(betaGeo.b).toBeCloseTo(2.426, 2);
    expect(betaGeo.logLikelihood).toBeCloseTo(-9582.4, 1);
    // The published point itself lies within rounding of the optimum.
    const published = betaGeoLogLikelihood({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, summaries);
    expect(published).toBeLessThanOrEqual(betaGeo.logLikelihood);
    expect(published).toBeCloseTo(-9582.4, 1);
  });

  test('gives customer 1 P(alive) ≈ 0.73 and the posterior expectation of purchases, both as integrated numerically', () => {
    const { x, tx, T } = summaries[0]!;
    const reference = bgNbdByIntegration(betaGeo, x, tx, T);
    const alive = probabilityAlive(betaGeo, x, tx, T);
    expect(alive).toBeCloseTo(0.73, 2);
    expect(alive).toBeCloseTo(reference.probabilityAlive, 10);
    const nextYear = expectedPurchases(betaGeo, 39, x, tx, T);
    expect(nextYear).toBeCloseTo(1.226, 3);
    expect(nextYear).toBeCloseTo(reference.expectedPurchases(39), 6);
  });

  test('fits the calibration period: expected repeat purchases over each customer’s age match the 2,457 observed within 3 %', () => {
    // Unconditional E[X(T)] (eq. 9) is the conditional expectation for a customer with no history yet.
    const expected = summaries.reduce((sum, { T }) => sum + expectedPurchases(betaGeo, T, 0, 0, 0), 0);
    const observed = summaries.reduce((sum, { x }) => sum + x, 0);
    expect(observed).toBe(2457);
    expect(Math.abs(expected / observed - 1)).toBeLessThan(0.03);
  });
});

describe('Gamma-Gamma on CDNOW', () => {
  test('reproduces p = 6.25, q = 3.74, γ = 15.44 on the 946 repeat customers', () => {
    expect(gammaGamma.converged).toBe(true);
    expect(gammaGamma.sampleSize).toBe(946);
    expect(gammaGamma.p).toBeCloseTo(6.25, 2);
    expect(gammaGamma.q).toBeCloseTo(3.74, 2);
    expect(gammaGamma.gamma).toBeCloseTo(15.44, 2);
  });

  test('yields a positive, finite 12-month CLV for every customer', () => {
    const models = { betaGeo, gammaGamma };
    const values = summaries.map((s) => customerLifetimeValue(models, s, { horizonMonths: 12, discountRatePerMonth: 0.01 }));
    expect(values.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
  });
});

import { expectedPurchases, type BetaGeoParams } from './bg-nbd';
import { CLV_DEFAULTS, customerLifetimeValue, type ClvCustomer } from './clv';
import { expectedAverageValue, type GammaGammaParams } from './gamma-gamma';

/** The CDNOW estimates (Fader, Hardie & Lee 2005). */
const betaGeo: BetaGeoParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const gammaGamma: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
const models = { betaGeo, gammaGamma };
const customer: ClvCustomer = { x: 2, tx: 30.43, T: 38.86, m: 22.35 };

describe('customerLifetimeValue', () => {
  test('without discounting is the expected purchases over the whole horizon times the expected spend', () => {
    const clv = customerLifetimeValue(models, customer, { horizonMonths: 12, discountRatePerMonth: 0 });
    const purchases = expectedPurchases(betaGeo, 12 * 4.345, 2, 30.43, 38.86);
    expect(clv).toBeCloseTo(purchases * expectedAverageValue(gammaGamma, 2, 22.35), 10);
  });

  test('discounts each month: between the undiscounted value deflated by the first and by the last month', () => {
    const undiscounted = customerLifetimeValue(models, customer, { horizonMonths: 24, discountRatePerMonth: 0 });
    const clv = customerLifetimeValue(models, customer, { horizonMonths: 24, discountRatePerMonth: 0.02 });
    expect(clv).toBeLessThan(undiscounted / 1.02);
    expect(clv).toBeGreaterThan(undiscounted / 1.02 ** 24);
  });

  test('discounts the first month once: a one-month horizon is that month’s value over (1 + d)', () => {
    const oneMonth = expectedPurchases(betaGeo, 4.345, 2, 30.43, 38.86) * expectedAverageValue(gammaGamma, 2, 22.35);
    expect(customerLifetimeValue(models, customer, { horizonMonths: 1, discountRatePerMonth: 0.05 })).toBeCloseTo(oneMonth / 1.05, 10);
  });

  test('grows with the horizon and falls with the discount rate', () => {
    const values = [1, 6, 12, 36, 120].map((horizonMonths) => customerLifetimeValue(models, customer, { horizonMonths }));
    values.slice(1).forEach((value, i) => expect(value).toBeGreaterThan(values[i]!));
    expect(customerLifetimeValue(models, customer, { discountRatePerMonth: 0.05 })).toBeLessThan(
      customerLifetimeValue(models, customer, { discountRatePerMonth: 0.01 }),
    );
  });

  test('values a customer who never came back at the population mean spend, whatever m says', () => {
    const oneOff = { x: 0, tx: 0, T: 38.86 };
    const a = customerLifetimeValue(models, { ...oneOff, m: 0 });
    const b = customerLifetimeValue(models, { ...oneOff, m: 500 });
    expect(a).toBe(b);
    const undiscounted = customerLifetimeValue(models, { ...oneOff, m: 0 }, { discountRatePerMonth: 0 });
    expect(undiscounted).toBeCloseTo(expectedPurchases(betaGeo, 12 * 4.345, 0, 0, 38.86) * ((6.25 * 15.44) / (3.74 - 1)), 10);
  });

  test('is 0 over a zero horizon and uses documented defaults', () => {
    expect(customerLifetimeValue(models, customer, { horizonMonths: 0 })).toBe(0);
    expect(CLV_DEFAULTS).toEqual({ horizonMonths: 12, discountRatePerMonth: 0.01, periodLength: 4.345 });
    expect(customerLifetimeValue(models, customer)).toBe(customerLifetimeValue(models, customer, CLV_DEFAULTS));
  });

  test('rejects malformed options', () => {
    expect(() => customerLifetimeValue(models, customer, { horizonMonths: 1.5 })).toThrow(/horizonMonths/);
    expect(() => customerLifetimeValue(models, customer, { discountRatePerMonth: -1 })).toThrow(/discountRatePerMonth/);
    expect(() => customerLifetimeValue(models, customer, { periodLength: 0 })).toThrow(/periodLength/);
  });
});

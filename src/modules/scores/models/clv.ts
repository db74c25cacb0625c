import { expectedPurchases, type BetaGeoParams, type PurchaseSummary } from './bg-nbd';
import { expectedAverageValue, type GammaGammaParams } from './gamma-gamma';

/** The fitted models a CLV is computed from. */
export interface ClvModels {
  /** Purchase counts (BG/NBD), fitted with time in weeks. */
  betaGeo: BetaGeoParams;
  /** Spend per purchase (Gamma-Gamma). */
  gammaGamma: GammaGammaParams;
}

/** One customer's history: BG/NBD summary (weeks) and mean repeat spend. */
export interface ClvCustomer extends PurchaseSummary {
  /** Mean value of the repeat purchases; ignored when `x = 0`. */
  m: number;
}

/** Options for {@link customerLifetimeValue}. */
export interface ClvOptions {
  /** Months ahead to count. @defaultValue 12 */
  horizonMonths?: number;
  /** Discount rate per month, e.g. 0.01 for 1 % a month (≈ 12.7 % a year). @defaultValue 0.01 */
  discountRatePerMonth?: number;
  /**
   * Length of a month in the time unit of the BG/NBD model.
   * @defaultValue 4.345 (weeks, as in `lifetimes`; 365.25 / 12 / 7 ≈ 4.348)
   */
  periodLength?: number;
}

/** Defaults of {@link ClvOptions}. */
export const CLV_DEFAULTS: Required<ClvOptions> = {
  horizonMonths: 12,
  discountRatePerMonth: 0.01,
  periodLength: 4.345,
};

/**
 * Discounted customer lifetime value over a finite horizon, from BG/NBD
 * purchase counts and Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and
 * CLV: Using Iso-Value Curves for Customer Base Analysis", JMR 42(4)).
 *
 * Discretised by month, as `lifetimes`' `customer_lifetime_value` does with
 * `freq='W'`: the purchases expected in month i, E[Y(i·L)] − E[Y((i−1)·L)] with
 * L = `periodLength` weeks, are valued at the expected spend and discounted
 * as if they all fell at the end of that month:
 *
 * CLV = Σᵢ₌₁ᴴ (E[Y(i·L) | x, t_x, T] − E[Y((i−1)·L) | x, t_x, T]) · E[M | x, m] / (1 + d)^i.
 *
 * Counting a month's purchases at its end slightly understates the value
 * against continuous discounting (by at most one month's discount factor).
 *
 * @example customerLifetimeValue({ betaGeo, gammaGamma }, { x: 2, tx: 30.43, T: 38.86, m: 22.35 }, { horizonMonths: 12 })
 */
export function customerLifetimeValue(models: ClvModels, customer: ClvCustomer, options: ClvOptions = {}): number {
  const { horizonMonths, discountRatePerMonth, periodLength } = { ...CLV_DEFAULTS, ...options };
  if (!(Number.isInteger(horizonMonths) && horizonMonths >= 0)) {
    throw new RangeError(`horizonMonths must be an integer ≥ 0, got ${horizonMonths}`);
  }
  if (!(Number.isFinite(discountRatePerMonth) && discountRatePerMonth > -1)) {
    throw new RangeError(`discountRatePerMonth must be a finite number > −1, got ${discountRatePerMonth}`);
  }
  if (!(Number.isFinite(periodLength) && periodLength > 0)) {
    throw new RangeError(`periodLength must be a finite number > 0, got ${periodLength}`);
  }
  const { x, tx, T, m } = customer;
  const value = expectedAverageValue(models.gammaGamma, x, m);
  let clv = 0;
  let previous = 0;
  for (let month = 1; month <= horizonMonths; month++) {
    const cumulative = expectedPurchases(models.betaGeo, month * periodLength, x, tx, T);
    clv += ((cumulative - previous) * value) / Math.pow(1 + discountRatePerMonth, month);
    previous = cumulative;
  }
  return clv;
}

import { z } from 'zod';
import {
  customerLifetimeValue,
  expectedAverageValue,
  expectedPurchases,
  fitBetaGeoYielding,
  fitGammaGammaYielding,
  probabilityAlive,
  type BetaGeoParams,
  type GammaGammaParams,
} from '../models';
import { defineScoreKind, type KindContext, type Memo } from './kind';
import { purchaseSummaries, utcDay, type CustomerPurchaseSummary } from './purchase-summaries';
import { namedFigures, round, transactionTypesSetting } from './settings';

/** Weeks in a month, as the CLV discounting counts them (365.25 / 12 / 7 ≈ 4.348; `lifetimes` uses 4.345). */
export const WEEKS_PER_MONTH = 4.345;

/** CLV settings (CHURN_RISK uses the same model and therefore these settings). */
export const clvSettings = z
  .object({
    /** Interaction types that are purchases. @defaultValue ['purchase', 'order'] */
    transactionTypes: transactionTypesSetting,
    /**
     * Last day (UTC) of the calibration period, `YYYY-MM-DD`; purchases up to
     * the end of that day count. Null: today, at each run. @defaultValue null
     */
    asOf: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'asOf must be a date YYYY-MM-DD')
      .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'asOf is not a real date')
      .nullable()
      .default(null),
    /** Weeks ahead for expected purchases and CLV (CLV counts whole months: round(horizonWeeks / 4.345)). @defaultValue 52 */
    horizonWeeks: z.number().positive().max(520).default(52),
    /** Discount rate per month for CLV, e.g. 0.01 = 1 % a month. @defaultValue 0.01 */
    discountRatePerMonth: z.number().min(0).max(1).default(0.01),
  })
  .strict();
export type ClvSettings = z.infer<typeof clvSettings>;

/** Fitted BG/NBD (r, alpha, a, b; weeks) and Gamma-Gamma (p, q, gamma) parameters. */
export type ClvParameters = BetaGeoParams & GammaGammaParams;

/** The calibration day of a run: `asOf` when set, else the day of `now` (UTC). */
export function calibrationDay(settings: ClvSettings, now: Date): Date {
  return settings.asOf ? new Date(`${settings.asOf}T00:00:00Z`) : utcDay(now);
}

/**
 * CLV's components, in the order they are stored, with the decimals they are
 * shown with: weeks to 10⁻⁴, probabilities and counts to 10⁻⁶, money to 10⁻⁴.
 */
const CLV_FIGURES = [
  ['x', null],
  ['tx', 4],
  ['T', 4],
  ['m', 4],
  ['pAlive', 6],
  ['expectedPurchases', 6],
  ['expectedAverageValue', 4],
  ['clv', 4],
  ['horizonWeeks', null],
] as const;

/** The parts of {@link clvFigures} that depend on (x, t_x, T) only. */
interface PurchaseFigures {
  pAlive: number;
  expectedPurchases: number;
  /** Σᵢ (E[Y(i·L)] − E[Y((i−1)·L)]) / (1 + d)^i over the horizon's months: the CLV per unit of expected spend. */
  discountedPurchases: number;
}

/**
 * Purchase figures by x, then t_x, then T: three lookups of numbers instead
 * of building a string key per customer (a full recompute looks up one per
 * buyer, so the lookup is on its hot path).
 */
export class PurchaseFiguresMemo {
  private readonly byX = new Map<number, Map<number, Map<number, PurchaseFigures>>>();

  get(x: number, tx: number, T: number): PurchaseFigures | undefined {
    return this.byX.get(x)?.get(tx)?.get(T);
  }

  set(x: number, tx: number, T: number, figures: PurchaseFigures): void {
    let byTx = this.byX.get(x);
    if (!byTx) this.byX.set(x, (byTx = new Map()));
    let byT = byTx.get(tx);
    if (!byT) byTx.set(tx, (byT = new Map()));
    byT.set(T, figures);
  }
}

/**
 * The closed forms for one customer (Fader, Hardie & Lee 2005; see models/).
 * `memo` (one per model and settings) shares the purchase figures between
 * customers with the same (x, t_x, T) — e.g. every one-time buyer of the
 * same day.
 */
export function clvFigures(parameters: ClvParameters, settings: ClvSettings, s: CustomerPurchaseSummary, memo?: PurchaseFiguresMemo) {
  const betaGeo = { r: parameters.r, alpha: parameters.alpha, a: parameters.a, b: parameters.b };
  const gammaGamma = { p: parameters.p, q: parameters.q, gamma: parameters.gamma };
  let figures = memo?.get(s.x, s.tx, s.T);
  if (!figures) {
    const horizonMonths = Math.max(1, Math.round(settings.horizonWeeks / WEEKS_PER_MONTH));
    const clvOptions = { horizonMonths, discountRatePerMonth: settings.discountRatePerMonth, periodLength: WEEKS_PER_MONTH };
    // CLV is linear in the expected spend: its value at E[M] = 1 is the discounted expected purchase count.
    const unitSpend = { ...s, m: 1 };
    figures = {
      pAlive: probabilityAlive(betaGeo, s.x, s.tx, s.T),
      expectedPurchases: expectedPurchases(betaGeo, settings.horizonWeeks, s.x, s.tx, s.T),
      discountedPurchases: customerLifetimeValue({ betaGeo, gammaGamma }, unitSpend, clvOptions) / expectedAverageValue(gammaGamma, s.x, 1),
    };
    memo?.set(s.x, s.tx, s.T, figures);
  }
  // Repeat purchases worth nothing (or refunds) carry no spend information: use the population mean.
  const spendX = s.m > 0 ? s.x : 0;
  const averageValue = expectedAverageValue(gammaGamma, spendX, s.m);
  return {
    pAlive: figures.pAlive,
    expectedPurchases: figures.expectedPurchases,
    expectedAverageValue: averageValue,
    clv: figures.discountedPurchases * averageValue,
  };
}

async function summariesFor(ctx: KindContext<ClvSettings>, scope: Parameters<typeof purchaseSummaries>[1]['scope'], scopeMemo?: Memo) {
  return purchaseSummaries(ctx.db, {
    transactionTypes: ctx.settings.transactionTypes,
    asOfDay: calibrationDay(ctx.settings, ctx.now),
    scope,
    scopeMemo,
    runMemo: ctx.runMemo,
  });
}

/**
 * CLV: BG/NBD purchase counts and Gamma-Gamma spend, both fitted by maximum
 * likelihood over every customer with a purchase up to `asOf`; per customer
 * P(alive), expected purchases over the horizon, expected average value and
 * the discounted CLV (the score's value).
 */
export const clvKind = defineScoreKind<ClvSettings>({
  kind: 'CLV',
  description: 'Discounted customer lifetime value from BG/NBD purchase counts and Gamma-Gamma spend (Fader, Hardie & Lee 2005).',
  settings: clvSettings,
  recomputeWith: ['CHURN_RISK'],

  async fit(ctx) {
    const summaries = await summariesFor(ctx, null);
    // Seconds of optimisation at scale: yielding keeps the worker's event loop (other jobs, lock renewals,
    // the other kinds' fit statements) running meanwhile.
    const betaGeo = await fitBetaGeoYielding(summaries);
    const gammaGamma = await fitGammaGammaYielding(summaries.filter((s) => s.m > 0));
    const parameters: ClvParameters = {
      r: betaGeo.r,
      alpha: betaGeo.alpha,
      a: betaGeo.a,
      b: betaGeo.b,
      p: gammaGamma.p,
      q: gammaGamma.q,
      gamma: gammaGamma.gamma,
    };
    const diagnostics = (fit: typeof betaGeo | typeof gammaGamma) => ({
      logLikelihood: fit.logLikelihood,
      iterations: fit.iterations,
      converged: fit.converged,
      sampleSize: fit.sampleSize,
    });
    return {
      parameters: { ...parameters },
      diagnostics: { bgNbd: diagnostics(betaGeo), gammaGamma: diagnostics(gammaGamma) },
      sampleSize: betaGeo.sampleSize,
      asOf: calibrationDay(ctx.settings, ctx.now),
    };
  },

  components: ({ values }) => namedFigures(values, CLV_FIGURES),

  async score(ctx, scope) {
    const parameters = ctx.model.parameters as ClvParameters | null;
    if (!parameters) return [];
    const summaries = await summariesFor(ctx, scope, ctx.scopeMemo);
    // A full recompute shares one memo across its batches (the same (x, t_x, T) recur from range to range, e.g.
    // every one-time buyer of a day); a refresh keeps its own.
    const memoKey = `clvFigures:${JSON.stringify([parameters, ctx.settings])}`;
    const memo = ctx.runMemo?.get(memoKey, () => new PurchaseFiguresMemo()) ?? new PurchaseFiguresMemo();
    return summaries.map((s) => {
      const figures = clvFigures(parameters, ctx.settings, s, memo);
      return {
        customerId: s.customerId,
        value: round(figures.clv, 2),
        label: null,
        // In the order of CLV_FIGURES.
        componentValues: [s.x, s.tx, s.T, s.m, figures.pAlive, figures.expectedPurchases, figures.expectedAverageValue, figures.clv, ctx.settings.horizonWeeks],
      };
    });
  },
});

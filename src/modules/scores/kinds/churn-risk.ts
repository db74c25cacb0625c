import { z } from 'zod';
import { CHURN_BAND_THRESHOLDS, churnBand, probabilityAlive, type BetaGeoParams } from '../models';
import { fail } from '../../../errors/catalog';
import { calibrationDay, clvSettings, type ClvParameters } from './clv';
import { defineScoreKind, type KindContext } from './kind';
import { purchaseSummaries } from './purchase-summaries';
import { namedFigures, round } from './settings';

/** CHURN_RISK has no settings of its own: it uses the CLV model (its BG/NBD fit, transaction types and asOf). */
export const churnRiskSettings = z.object({}).strict();
export type ChurnRiskSettings = z.infer<typeof churnRiskSettings>;

function clvModel(ctx: KindContext<ChurnRiskSettings>) {
  const model = ctx.models.get('CLV');
  return model ? { model, settings: clvSettings.parse(model.settings) } : null;
}

/**
 * CHURN_RISK: 1 − P(alive) under the BG/NBD model fitted for CLV, banded LOW
 * (< 0.3), MEDIUM (< 0.7) and HIGH. Its "fit" takes over CLV's BG/NBD
 * parameters, so both kinds always score with the same model.
 */
export const churnRiskKind = defineScoreKind<ChurnRiskSettings>({
  kind: 'CHURN_RISK',
  description: `1 − P(alive) from the BG/NBD model fitted for CLV; LOW below ${CHURN_BAND_THRESHOLDS.medium}, MEDIUM below ${CHURN_BAND_THRESHOLDS.high}, else HIGH.`,
  settings: churnRiskSettings,
  recomputeWith: ['CLV'],
  fitAfter: ['CLV'],
  range: [0, 1],

  async fit(ctx) {
    const clv = clvModel(ctx);
    const parameters = clv?.model.parameters as ClvParameters | null | undefined;
    if (!clv || !parameters) {
      throw fail('MODEL_NOT_FITTED', { detail: 'the CLV model that CHURN_RISK uses has not been fitted yet' }, 'kinds');
    }
    return {
      parameters: { r: parameters.r, alpha: parameters.alpha, a: parameters.a, b: parameters.b, clvModelVersion: clv.model.version },
      diagnostics: { bgNbd: (clv.model.diagnostics as { bgNbd?: unknown } | null)?.bgNbd ?? null },
      sampleSize: clv.model.sampleSize ?? 0,
      asOf: clv.model.asOf ?? calibrationDay(clv.settings, ctx.now),
    };
  },

  // Stored: x, tx, T (weeks) and pAlive, as for CLV.
  components: ({ values }) =>
    namedFigures(values, [
      ['x', null],
      ['tx', 4],
      ['T', 4],
      ['pAlive', 6],
    ]),

  async score(ctx, scope) {
    const parameters = ctx.model.parameters as BetaGeoParams | null;
    const clv = clvModel(ctx);
    if (!parameters || !clv) return [];
    const summaries = await purchaseSummaries(ctx.db, {
      transactionTypes: clv.settings.transactionTypes,
      asOfDay: calibrationDay(clv.settings, ctx.now),
      scope,
      scopeMemo: ctx.scopeMemo,
      runMemo: ctx.runMemo,
    });
    const betaGeo = { r: parameters.r, alpha: parameters.alpha, a: parameters.a, b: parameters.b };
    return summaries.map((s) => {
      const pAlive = probabilityAlive(betaGeo, s.x, s.tx, s.T);
      const risk = round(Math.min(1, Math.max(0, 1 - pAlive)), 4);
      return { customerId: s.customerId, value: risk, label: churnBand(risk), componentValues: [s.x, s.tx, s.T, pAlive] };
    });
  },
});

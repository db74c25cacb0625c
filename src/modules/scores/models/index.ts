/**
 * The pure mathematics of Rapport's scores: BG/NBD purchase counts,
 * Gamma-Gamma spend, discounted CLV, RFM segments and churn bands. No I/O.
 *
 * @packageDocumentation
 */
export {
  BG_NBD_MIN_CUSTOMERS,
  betaGeoLogLikelihood,
  betaGeoLogLikelihoodGradient,
  expectedPurchases,
  fitBetaGeo,
  fitBetaGeoYielding,
  probabilityAlive,
  type BetaGeoFit,
  type BetaGeoParams,
  type FitBetaGeoOptions,
  type PurchaseSummary,
} from './bg-nbd';
export {
  GAMMA_GAMMA_MIN_CUSTOMERS,
  expectedAverageValue,
  fitGammaGamma,
  fitGammaGammaYielding,
  gammaGammaLogLikelihood,
  gammaGammaLogLikelihoodGradient,
  type FitGammaGammaOptions,
  type GammaGammaFit,
  type GammaGammaParams,
  type SpendSummary,
} from './gamma-gamma';
export { CLV_DEFAULTS, customerLifetimeValue, type ClvCustomer, type ClvModels, type ClvOptions } from './clv';
export { RFM_LABELS, rfmLabel, type RfmLabel } from './rfm';
export { CHURN_BANDS, CHURN_BAND_THRESHOLDS, churnBand, type ChurnBand } from './churn-band';
export { ModelFitError, type ModelFitErrorCode } from './model-fit-error';
export { HypergeometricError, hyp2f1, type Hyp2f1Options } from './hypergeometric';
export { minimize, minimizeStepwise, runToEnd, runYielding, type MinimizeOptions, type MinimizeResult, type Stepwise } from './optimize';
export {
  calibrationTable,
  crossValidate,
  fitLogistic,
  linearPredictor,
  logLoss,
  rocAuc,
  sigmoid,
  stratifiedFolds,
  type CalibrationBin,
  type CrossValidation,
  type Design,
  type LogisticFit,
} from './logistic';

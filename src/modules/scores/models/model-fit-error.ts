/** Stable codes of {@link ModelFitError}. */
export type ModelFitErrorCode =
  /** Too few customers, or none who bought again, for the model to be identified. */
  | 'INSUFFICIENT_DATA'
  /** The optimiser ended on a point where the likelihood or a parameter is not finite. */
  | 'MODEL_FIT_FAILED';

/**
 * A model could not be fitted to the data it was given. `model` names the
 * model, so a caller fitting several can say which one failed.
 *
 * @example
 * ```ts
 * try { fitBetaGeo(summaries) } catch (error) {
 *   if (error instanceof ModelFitError && error.code === 'INSUFFICIENT_DATA') …
 * }
 * ```
 */
export class ModelFitError extends Error {
  override readonly name = 'ModelFitError';
  constructor(
    readonly code: ModelFitErrorCode,
    readonly model: 'BG/NBD' | 'Gamma-Gamma',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What every maximum-likelihood fit reports besides its parameters. */
export interface FitDiagnostics {
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  sampleSize: number;
}

/**
 * Turns an optimiser result into a fit, or a {@link ModelFitError} when a
 * parameter ran off to the edge of the search (naming it) or no point had a
 * finite likelihood. Shared by every model fitted in log space.
 */
export function finishFit<P extends object>(
  model: ModelFitError['model'],
  params: P,
  names: readonly (keyof P & string)[],
  result: { value: number; iterations: number; converged: boolean },
  divergedIndices: number[],
  divergenceHint: string,
  sampleSize: number,
): P & FitDiagnostics {
  if (divergedIndices.length > 0) {
    const diverged = divergedIndices.map((i) => `${names[i]}=${(params[names[i]] as number).toPrecision(3)}`);
    throw new ModelFitError('MODEL_FIT_FAILED', model, `${model} fit diverged (${diverged.join(', ')}): ${divergenceHint}`);
  }
  const logLikelihood = -result.value;
  if (!Number.isFinite(logLikelihood)) {
    throw new ModelFitError('MODEL_FIT_FAILED', model, `${model} fit found no point with a finite likelihood`);
  }
  return { ...params, logLikelihood, iterations: result.iterations, converged: result.converged, sampleSize };
}

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

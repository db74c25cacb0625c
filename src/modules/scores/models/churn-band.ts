/** Churn-risk bands, from the safest. */
export const CHURN_BANDS = ['LOW', 'MEDIUM', 'HIGH'] as const;

/** One of {@link CHURN_BANDS}. */
export type ChurnBand = (typeof CHURN_BANDS)[number];

/**
 * Lower bounds of the MEDIUM and HIGH bands on the churn risk 1 − P(alive):
 * LOW is [0, 0.3), MEDIUM [0.3, 0.7), HIGH [0.7, 1].
 */
export const CHURN_BAND_THRESHOLDS = { medium: 0.3, high: 0.7 } as const;

/**
 * The band of a churn risk (1 − P(alive) from the BG/NBD model): below 0.3 is
 * LOW, below 0.7 MEDIUM, anything else HIGH.
 *
 * @throws RangeError when `risk` is not a number in [0, 1].
 * @example churnBand(0.28) // 'LOW'
 */
export function churnBand(risk: number): ChurnBand {
  if (!(risk >= 0 && risk <= 1)) throw new RangeError(`churn risk must be a number in [0, 1], got ${risk}`);
  if (risk < CHURN_BAND_THRESHOLDS.medium) return 'LOW';
  if (risk < CHURN_BAND_THRESHOLDS.high) return 'MEDIUM';
  return 'HIGH';
}

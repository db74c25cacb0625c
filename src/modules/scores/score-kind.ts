/** The kinds of score Rapport computes; each has one model definition under `kinds/`. */
export const SCORE_KINDS = ['RFM', 'ENGAGEMENT', 'CLV', 'CHURN_RISK', 'CHURN_PROPENSITY'] as const;

/** One of {@link SCORE_KINDS}. */
export type ScoreKind = (typeof SCORE_KINDS)[number];

export function isScoreKind(value: unknown): value is ScoreKind {
  return typeof value === 'string' && (SCORE_KINDS as readonly string[]).includes(value);
}

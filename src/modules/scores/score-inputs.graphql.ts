import { builder } from '../../graphql/builder';
import { FloatFilterInput } from '../../graphql/common.graphql';
import { SCORE_KINDS, type ScoreKind } from './score-kind';
import type { ScoreFilter } from './score-sql';

/** Shared by score.graphql.ts and the customers list (filter and order by score); imports nothing of either, so no cycle. */

const KIND_DESCRIPTIONS: Record<ScoreKind, string> = {
  RFM: 'Recency, frequency and monetary quintiles (1–5); value = mean of R, F, M; label = RFM segment (Champions … Lost).',
  ENGAGEMENT: 'Exponentially decayed, weighted sum of interactions, scaled 0–100.',
  CLV: 'Discounted customer lifetime value (BG/NBD purchases × Gamma-Gamma spend).',
  CHURN_RISK: '1 − P(alive) from the BG/NBD model, 0–1; label LOW, MEDIUM or HIGH.',
  CHURN_PROPENSITY:
    'Probability (0–1) of the configured outcome from a logistic regression trained on customers with a known outcome; label LOW, MEDIUM or HIGH.',
};

export const ScoreKindEnum = builder.enumType('ScoreKind', {
  description: 'A kind of score; each has one model with its own settings.',
  values: Object.fromEntries(SCORE_KINDS.map((k) => [k, { description: KIND_DESCRIPTIONS[k] }])) as Record<ScoreKind, { description: string }>,
});

export const ScoreFilterInput = builder.inputRef<ScoreFilter>('ScoreFilter').implement({
  description: 'A condition on one kind of score; customers without that score never match.',
  fields: (t) => ({
    kind: t.field({ type: ScoreKindEnum, required: true, description: 'Which score.' }),
    value: t.field({ type: FloatFilterInput, description: 'Conditions on the value.' }),
    labelIn: t.stringList({ description: 'The label is one of these (e.g. ["Champions", "Loyal"], ["HIGH"]).' }),
  }),
});

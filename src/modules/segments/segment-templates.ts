import type { SegmentRule } from './rules/rule';

/** A ready-made segment definition. */
export interface SegmentTemplate {
  key: string;
  name: string;
  description: string;
  rule: SegmentRule;
}

/** The standard RFM segment names, as the scores module labels RFM scores. */
export const RFM_GROUPS = [
  ['Champions', 'Bought recently, buy often and spend the most.'],
  ['Loyal', 'Buy regularly and respond to promotions.'],
  ['Potential Loyalist', 'Recent customers with average frequency who could become loyal.'],
  ['New Customers', 'Bought most recently, but not often.'],
  ['Promising', 'Recent shoppers who have not spent much yet.'],
  ['Need Attention', 'Above-average recency, frequency and value, but slipping.'],
  ['About to Sleep', 'Below-average recency and frequency; will be lost without reactivation.'],
  ['At Risk', 'Spent big and bought often, but long ago.'],
  ['Cannot Lose Them', 'Made the biggest purchases and often, but have not returned for a long time.'],
  ['Hibernating', 'Last purchase long ago, low spend and few orders.'],
  ['Lost', 'Lowest recency, frequency and value.'],
] as const;

/** Churn-risk bands, as the scores module labels CHURN_RISK scores. */
export const CHURN_BANDS = [
  ['HIGH', 'Customers whose probability of having churned is high: act now.'],
  ['MEDIUM', 'Customers with a moderate probability of having churned.'],
  ['LOW', 'Customers very likely still active.'],
] as const;

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** Every template, in a stable order: RFM groups, then churn-risk bands. */
export const SEGMENT_TEMPLATES: readonly SegmentTemplate[] = [
  ...RFM_GROUPS.map(([label, description]) => ({
    key: `rfm-${slug(label)}`,
    name: `RFM: ${label}`,
    description,
    rule: { score: { kind: 'RFM', labelIn: [label] } } as SegmentRule,
  })),
  ...CHURN_BANDS.map(([band, description]) => ({
    key: `churn-risk-${band.toLowerCase()}`,
    name: `Churn risk: ${band.toLowerCase()}`,
    description,
    rule: { score: { kind: 'CHURN_RISK', labelIn: [band] } } as SegmentRule,
  })),
];

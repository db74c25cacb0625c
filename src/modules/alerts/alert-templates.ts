import type { AlertRuleSettings } from './alert.service';

/** A number a template is tuned by, with its default and its allowed range. */
export interface AlertTemplateParameter {
  name: string;
  description: string;
  default: number;
  min: number;
  max: number;
  /** Whole numbers only (days). */
  integer?: boolean;
}

/**
 * A ready-made alert: a segment built from the parameters, and a rule that
 * fires when a customer enters it. Both are created together by
 * createAlertRuleFromTemplate.
 */
export interface AlertTemplate {
  key: string;
  name: string;
  description: string;
  parameters: readonly AlertTemplateParameter[];
  /** The segment's rule (the segment rule language of docs/segments.md). */
  segmentRule(values: Record<string, number>): unknown;
  /** The rule's settings when the caller gives none. */
  defaults(values: Record<string, number>): Pick<AlertRuleSettings, 'cooldownSeconds'>;
}

const DAY = 86_400;

const MIN_LIFETIME_VALUE: AlertTemplateParameter = {
  name: 'minLifetimeValue',
  description: 'What makes a customer high-value: a predicted lifetime value (CLV score) of at least this much.',
  default: 1_000,
  min: 0,
  max: 1e12,
};

/** Every alert template, in a stable order. */
export const ALERT_TEMPLATES: readonly AlertTemplate[] = [
  {
    key: 'churn-risk-rising-high-value',
    name: 'Churn risk rising among high-value customers',
    description:
      'Fires when a high-value customer (CLV ≥ minLifetimeValue) reaches a churn risk of churnRisk or more: they enter a segment "CLV ≥ minLifetimeValue and CHURN_RISK ≥ churnRisk", kept current at every customer refresh.',
    parameters: [
      MIN_LIFETIME_VALUE,
      { name: 'churnRisk', description: 'The churn-risk probability (0 to 1) from which to warn.', default: 0.7, min: 0, max: 1 },
    ],
    segmentRule: (v) => ({
      and: [{ score: { kind: 'CLV', op: 'GTE', value: v.minLifetimeValue } }, { score: { kind: 'CHURN_RISK', op: 'GTE', value: v.churnRisk } }],
    }),
    defaults: () => ({ cooldownSeconds: 7 * DAY }),
  },
  {
    key: 'high-value-silent',
    name: 'High-value customer silent for N days',
    description:
      'Fires when a high-value customer (CLV ≥ minLifetimeValue) has had no interaction for `days` days: they enter a segment with a moving window ("no interaction in the last `days` days"), which the segment sweep re-evaluates as time passes (RAPPORT_SEGMENT_SWEEP_MS). The cool-down defaults to `days` days.',
    parameters: [MIN_LIFETIME_VALUE, { name: 'days', description: 'Days without any interaction.', default: 30, min: 1, max: 3_650, integer: true }],
    segmentRule: (v) => ({
      and: [{ score: { kind: 'CLV', op: 'GTE', value: v.minLifetimeValue } }, { behavior: { lastDays: v.days, op: 'EQ', value: 0 } }],
    }),
    defaults: (v) => ({ cooldownSeconds: v.days * DAY }),
  },
];

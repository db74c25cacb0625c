import type { ScoreKind } from '../score-kind';
import { churnPropensityKind } from './churn-propensity';
import { churnRiskKind } from './churn-risk';
import { clvKind } from './clv';
import { engagementKind } from './engagement';
import type { ScoreKindDefinition } from './kind';
import { rfmKind } from './rfm';

/**
 * The registry of score models, in the order a recompute runs them (CHURN_RISK
 * after CLV, whose fit it takes over). Adding a kind: one file in this folder
 * and one entry here.
 */
export const SCORE_KIND_DEFINITIONS: readonly ScoreKindDefinition<never>[] = [
  rfmKind,
  engagementKind,
  clvKind,
  churnRiskKind,
  churnPropensityKind,
] as unknown as readonly ScoreKindDefinition<never>[];

export function kindDefinition(kind: ScoreKind): ScoreKindDefinition<unknown> {
  const definition = SCORE_KIND_DEFINITIONS.find((d) => d.kind === kind);
  if (!definition) throw new Error(`no definition for score kind ${kind}`);
  return definition as unknown as ScoreKindDefinition<unknown>;
}

/** The values a kind's scores fall between, or undefined when unbounded (CLV). */
export function scoreRange(kind: ScoreKind): readonly [number, number] | undefined {
  return kindDefinition(kind).range;
}

export type {
  CustomerRules,
  FitContext,
  FitResult,
  KindContext,
  Memo,
  Queryable,
  ScoreContext,
  ScoreKindDefinition,
  ScoreRow,
  ScoreScope,
  StoredModel,
} from './kind';

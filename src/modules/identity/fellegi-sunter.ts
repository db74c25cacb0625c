import { dateTypo, jaroWinkler, trigramSimilarity } from './compare';
import { levelsOf, type FieldComparison, type MatchingSettings } from './settings';

/**
 * The Fellegi–Sunter model: each compared field contributes the weight of its
 * agreement level, log2(m/u), where m is the probability of that level among
 * true matches and u among non-matches; the weights and the prior odds sum to
 * the match weight, whose logistic is the match probability. m, u and the
 * share of matches λ are learned by expectation–maximisation over the
 * candidate pairs' agreement patterns (no labels), as in Splink and Zingg;
 * any of them can be set by hand (`weights`).
 */

/** A customer's normalised fields, as `identity_features` holds them (`field:phonetic` for phonetic keys). */
export type FeatureRow = Record<string, string | null>;

/** The agreement level of one field of a pair: an index into {@link levelsOf}, or -1 when either side is empty. */
export function compareField(spec: FieldComparison, a: FeatureRow, b: FeatureRow): number {
  if (spec.comparison !== 'phonetic') return compareValues(spec, a[spec.field], b[spec.field], null, null);
  return compareValues(spec, a[spec.field], b[spec.field], a[`${spec.field}:phonetic`], b[`${spec.field}:phonetic`]);
}

/** {@link compareField} on the values themselves (`px`, `py`: their phonetic codes, read by `phonetic` only). */
export function compareValues(
  spec: FieldComparison,
  x: string | null | undefined,
  y: string | null | undefined,
  px: string | null | undefined,
  py: string | null | undefined,
): number {
  if (!x || !y) return -1;
  if (x === y) return 0;
  const floors = spec.thresholds ?? [];
  switch (spec.comparison) {
    case 'exact':
      return 1;
    case 'jaroWinkler': {
      const s = jaroWinkler(x, y);
      const at = floors.findIndex((t) => s >= t);
      return at < 0 ? floors.length + 1 : at + 1;
    }
    case 'trigram': {
      const s = trigramSimilarity(x, y);
      const at = floors.findIndex((t) => s >= t);
      return at < 0 ? floors.length + 1 : at + 1;
    }
    case 'phonetic': {
      // EXACT, JW>=first, PHONETIC, JW>=rest…, DIFFERENT
      const s = jaroWinkler(x, y);
      const first = floors[0] ?? 0.92;
      if (s >= first) return 1;
      if (px && px === py) return 2;
      const rest = floors.slice(1);
      const at = rest.findIndex((t) => s >= t);
      return at < 0 ? rest.length + 3 : at + 3;
    }
    case 'date':
      return dateTypo(x, y) ? 1 : 2;
    case 'numeric': {
      const nx = Number(x.replace(/[^\d.-]/g, ''));
      const ny = Number(y.replace(/[^\d.-]/g, ''));
      if (!Number.isFinite(nx) || !Number.isFinite(ny)) return 2;
      return Math.abs(nx - ny) <= (spec.tolerance ?? 1) ? 1 : 2;
    }
  }
}

/** The agreement levels of every field of a pair. */
export function comparePair(fields: readonly FieldComparison[], a: FeatureRow, b: FeatureRow): Int8Array {
  const levels = new Int8Array(fields.length);
  for (let f = 0; f < fields.length; f++) levels[f] = compareField(fields[f], a, b);
  return levels;
}

/** m and u of each level of one field. */
export interface FieldModel {
  field: string;
  comparison: string;
  levels: string[];
  m: number[];
  u: number[];
}

/** A fitted (or hand-set) model of one kind of customer. */
export interface MatchModel {
  /** Share of matches among candidate pairs. */
  lambda: number;
  fields: FieldModel[];
  iterations: number;
  converged: boolean;
  /** Candidate pairs the fit saw. */
  pairs: number;
}

const FLOOR = 1e-6;

/**
 * Fits λ, m and u by EM over agreement patterns and their counts. Starts
 * from m high on agreement and u from `uStart` (the level frequencies of
 * random pairs, so the split found is matches versus the rest).
 */
export function fitModel(
  fields: readonly FieldComparison[],
  patterns: ReadonlyMap<string, { levels: Int8Array; count: number }>,
  uStart: number[][],
  maxIterations: number,
): MatchModel {
  const levelNames = fields.map(levelsOf);
  let lambda = 0.1;
  let m = levelNames.map((names) => names.map((_, l) => (l === 0 ? 0.8 : 0.2 / (names.length - 1))));
  let u = uStart.map((row) => row.map((p) => Math.max(p, FLOOR)));
  const list = [...patterns.values()];
  const total = list.reduce((sum, p) => sum + p.count, 0);
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations && total > 0; iterations++) {
    const mCount = levelNames.map((names) => names.map(() => 0));
    const uCount = levelNames.map((names) => names.map(() => 0));
    let matched = 0;
    for (const { levels, count } of list) {
      let pm = lambda;
      let pu = 1 - lambda;
      for (let f = 0; f < levels.length; f++) {
        const l = levels[f];
        if (l < 0) continue;
        pm *= m[f][l];
        pu *= u[f][l];
      }
      const w = pm / (pm + pu);
      matched += w * count;
      for (let f = 0; f < levels.length; f++) {
        const l = levels[f];
        if (l < 0) continue;
        mCount[f][l] += w * count;
        uCount[f][l] += (1 - w) * count;
      }
    }
    const normalise = (counts: number[][]) =>
      counts.map((row) => {
        const sum = row.reduce((a, b) => a + b, 0);
        return row.map((c) => Math.max(sum > 0 ? c / sum : 1 / row.length, FLOOR));
      });
    const nextLambda = Math.min(Math.max(matched / total, FLOOR), 1 - FLOOR);
    const nextM = normalise(mCount);
    const nextU = normalise(uCount);
    const delta = Math.max(
      Math.abs(nextLambda - lambda),
      ...nextM.flatMap((row, f) => row.map((p, l) => Math.abs(p - m[f][l]))),
      ...nextU.flatMap((row, f) => row.map((p, l) => Math.abs(p - u[f][l]))),
    );
    lambda = nextLambda;
    m = nextM;
    u = nextU;
    if (delta < 1e-5) {
      converged = true;
      iterations++;
      break;
    }
  }
  return {
    lambda,
    fields: fields.map((spec, f) => ({ field: spec.field, comparison: spec.comparison, levels: levelNames[f], m: m[f], u: u[f] })),
    iterations,
    converged,
    pairs: total,
  };
}

/** Weights of a model, with hand-set ones taking precedence: per field, per level, log2(m/u); and the prior log2 odds. */
export interface Weights {
  prior: number;
  fields: { field: string; levels: string[]; weights: number[] }[];
}

export function weightsOf(model: MatchModel, fields: readonly FieldComparison[], settings: Pick<MatchingSettings, 'weights'>): Weights {
  const hand = settings.weights ?? {};
  const prior = hand.prior?.PRIOR ?? Math.log2(model.lambda / (1 - model.lambda));
  return {
    prior,
    fields: fields.map((spec) => {
      const levels = levelsOf(spec);
      const learned = model.fields.find((f) => f.field === spec.field && f.levels.join() === levels.join());
      return {
        field: spec.field,
        levels,
        weights: levels.map((level, l) => hand[spec.field]?.[level] ?? (learned ? Math.log2(learned.m[l] / learned.u[l]) : 0)),
      };
    }),
  };
}

/** One field's part of a score, as `DuplicatePair.evidence` shows it. */
export interface Evidence {
  field: string;
  level: string;
  weight: number;
}

/** Match probability of a pattern: the logistic (base 2) of the prior plus the weights of its levels. */
export function scorePattern(weights: Weights, levels: Int8Array): number {
  let total = weights.prior;
  for (let f = 0; f < levels.length; f++) if (levels[f] >= 0) total += weights.fields[f].weights[levels[f]];
  return 1 / (1 + 2 ** -total);
}

export function evidenceOf(weights: Weights, levels: Int8Array): Evidence[] {
  return weights.fields.map((f, i) => ({
    field: f.field,
    level: levels[i] < 0 ? 'MISSING' : f.levels[levels[i]],
    weight: levels[i] < 0 ? 0 : Math.round(f.weights[levels[i]] * 1000) / 1000,
  }));
}

/** Level frequencies among random pairs: the starting u of EM (Laplace-smoothed). */
export function randomPairFrequencies(fields: readonly FieldComparison[], rows: readonly FeatureRow[], samples: number, random: () => number): number[][] {
  const counts = fields.map((spec) => levelsOf(spec).map(() => 1));
  if (rows.length >= 2) {
    for (let s = 0; s < samples; s++) {
      const i = Math.floor(random() * rows.length);
      let j = Math.floor(random() * (rows.length - 1));
      if (j >= i) j++;
      const levels = comparePair(fields, rows[i], rows[j]);
      for (let f = 0; f < levels.length; f++) if (levels[f] >= 0) counts[f][levels[f]]++;
    }
  }
  return counts.map((row) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((c) => c / sum);
  });
}

import type { Design } from '../models/logistic';

/**
 * How CHURN_PROPENSITY turns a customer's traits and numbers into the columns
 * of its logistic regression, learnt from the training customers and stored
 * with the model so scoring encodes alike. No outcome is read here: the
 * encoding is the same whether it is learnt on all training customers or on
 * a fold of them.
 *
 * - A trait whose present values are all JSON numbers is numeric; any other
 *   (strings, booleans, a mix) is categorical, its values as text.
 * - Numeric columns are standardised: (x − mean) / sd over the present
 *   values (a constant column stays 0). A missing value (absent or JSON null)
 *   is imputed with the mean, i.e. 0 once standardised, and flagged by an
 *   indicator column `<name> = (missing)` when training had missing values.
 * - Categorical traits are one-hot encoded, one column per level. Levels seen
 *   in fewer than `minLevelCount` training customers, and levels beyond the
 *   {@link MAX_LEVELS} most frequent, are pooled into `(other)`; a missing
 *   value is a level of its own, `(missing)`. At scoring, a level training
 *   never saw counts as `(other)`, or as nothing (a contribution of 0) when
 *   training had no `(other)`.
 */

/** Most one-hot levels kept per categorical trait; rarer ones are pooled into `(other)`. */
export const MAX_LEVELS = 50;
export const OTHER_LEVEL = '(other)';
export const MISSING_LEVEL = '(missing)';

/** One customer's raw features: the traits (JSON text, null when absent) and the numbers (stats, behaviour aggregates; null when undefined). */
export interface FeatureRow {
  customerId: string;
  traits: (string | null)[];
  numbers: (number | null)[];
}

/** What a column of the design is, for coefficients and explanations. */
export interface ColumnInfo {
  /** Plain name: `tenure`, `Contract = Month-to-month`, `TotalCharges = (missing)`. */
  feature: string;
  /** The trait path, for columns made from a trait (personal ones are masked without `pii:read`). */
  trait?: string;
  /** The level, for one-hot and missing-value columns. */
  level?: string;
}

export interface NumericFeature {
  feature: string;
  trait?: string;
  /** Where the raw value is: a trait (index into `traits`) or a number (index into `numbers`). */
  source: 'trait' | 'number';
  index: number;
  mean: number;
  sd: number;
  /** The missing-value indicator column, or null when training had none missing. */
  missingColumn: number | null;
}

export interface CategoricalFeature {
  trait: string;
  index: number;
  /** Kept levels; level k is column `firstColumn + k`. */
  levels: string[];
  firstColumn: number;
  otherColumn: number | null;
  missingColumn: number | null;
}

/** A learnt encoding (stored in the model's parameters). */
export interface Encoding {
  numeric: NumericFeature[];
  categorical: CategoricalFeature[];
  /** Column 0 is the intercept. */
  columns: ColumnInfo[];
  /** Indicator slots per row: one per categorical trait, then one per numeric feature with a missing column. */
  slotCount: number;
}

type Raw = { kind: 'missing' } | { kind: 'number'; value: number } | { kind: 'level'; value: string };

/** A trait as stored (jsonb as text) read as a number, a level or missing. */
export function readTrait(text: string | null): Raw {
  if (text === null) return { kind: 'missing' };
  const value: unknown = JSON.parse(text);
  if (value === null) return { kind: 'missing' };
  if (typeof value === 'number') return { kind: 'number', value };
  if (typeof value === 'string') return { kind: 'level', value };
  if (typeof value === 'boolean') return { kind: 'level', value: String(value) };
  return { kind: 'level', value: text };
}

const asLevel = (raw: Raw): string | null => (raw.kind === 'missing' ? null : raw.kind === 'number' ? String(raw.value) : raw.value);

/**
 * Learns the encoding from the training rows: `traits` names the trait
 * columns of the rows, `numberNames` their number columns (always numeric).
 */
export function learnEncoding(rows: readonly FeatureRow[], traits: readonly string[], numberNames: readonly string[], minLevelCount: number): Encoding {
  const columns: ColumnInfo[] = [{ feature: '(intercept)' }];
  const numeric: NumericFeature[] = [];
  const categorical: CategoricalFeature[] = [];
  const numericSpecs: { feature: string; trait?: string; source: 'trait' | 'number'; index: number; values: (number | null)[] }[] = [];

  traits.forEach((trait, index) => {
    const raws = rows.map((r) => readTrait(r.traits[index] ?? null));
    const present = raws.filter((r) => r.kind !== 'missing');
    if (present.length > 0 && present.every((r) => r.kind === 'number')) {
      numericSpecs.push({ feature: trait, trait, source: 'trait', index, values: raws.map((r) => (r.kind === 'number' ? r.value : null)) });
      return;
    }
    const counts = new Map<string, number>();
    let missing = 0;
    for (const raw of raws) {
      const level = asLevel(raw);
      if (level === null) missing++;
      else counts.set(level, (counts.get(level) ?? 0) + 1);
    }
    const ranked = [...counts.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
    const kept = ranked.filter(([, n]) => n >= minLevelCount).slice(0, MAX_LEVELS);
    const pooled = ranked.length > kept.length;
    categorical.push({
      trait,
      index,
      levels: kept.map(([level]) => level),
      firstColumn: -1,
      otherColumn: pooled ? -1 : null,
      missingColumn: missing > 0 ? -1 : null,
    });
  });
  numberNames.forEach((feature, index) => numericSpecs.push({ feature, source: 'number', index, values: rows.map((r) => r.numbers[index] ?? null) }));

  for (const spec of numericSpecs) {
    let n = 0;
    let sum = 0;
    let missing = 0;
    for (const v of spec.values) {
      if (v === null || !Number.isFinite(v)) missing++;
      else {
        n++;
        sum += v;
      }
    }
    const mean = n ? sum / n : 0;
    let squares = 0;
    for (const v of spec.values) if (v !== null && Number.isFinite(v)) squares += (v - mean) ** 2;
    const sd = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
    columns.push({ feature: spec.feature, ...(spec.trait ? { trait: spec.trait } : {}) });
    numeric.push({ feature: spec.feature, trait: spec.trait, source: spec.source, index: spec.index, mean, sd, missingColumn: missing > 0 ? -1 : null });
  }
  // Indicator columns after the numeric ones.
  for (const c of categorical) {
    c.firstColumn = columns.length;
    for (const level of c.levels) columns.push({ feature: `${c.trait} = ${level}`, trait: c.trait, level });
    if (c.otherColumn !== null) {
      c.otherColumn = columns.length;
      columns.push({ feature: `${c.trait} = ${OTHER_LEVEL}`, trait: c.trait, level: OTHER_LEVEL });
    }
    if (c.missingColumn !== null) {
      c.missingColumn = columns.length;
      columns.push({ feature: `${c.trait} = ${MISSING_LEVEL}`, trait: c.trait, level: MISSING_LEVEL });
    }
  }
  for (const f of numeric) {
    if (f.missingColumn === null) continue;
    f.missingColumn = columns.length;
    columns.push({ feature: `${f.feature} = ${MISSING_LEVEL}`, ...(f.trait ? { trait: f.trait } : {}), level: MISSING_LEVEL });
  }
  const slotCount = categorical.length + numeric.filter((f) => f.missingColumn !== null).length;
  return { numeric, categorical, columns, slotCount };
}

/** Encodes rows with a learnt encoding into a {@link Design}. */
export function encodeRows(encoding: Encoding, rows: readonly FeatureRow[]): Design {
  const p = encoding.numeric.length;
  const q = encoding.slotCount;
  const numeric = new Float64Array(rows.length * p);
  const slots = new Int32Array(rows.length * q).fill(-1);
  const levelColumns = encoding.categorical.map((c) => new Map(c.levels.map((level, k) => [level, c.firstColumn + k])));
  rows.forEach((row, i) => {
    let slot = 0;
    encoding.categorical.forEach((c, k) => {
      const level = asLevel(readTrait(row.traits[c.index] ?? null));
      const column = level === null ? c.missingColumn : (levelColumns[k].get(level) ?? c.otherColumn);
      slots[i * q + slot++] = column ?? -1;
    });
    encoding.numeric.forEach((f, j) => {
      const raw = f.source === 'trait' ? readTrait(row.traits[f.index] ?? null) : null;
      const value = f.source === 'trait' ? (raw?.kind === 'number' ? raw.value : null) : (row.numbers[f.index] ?? null);
      const present = value !== null && Number.isFinite(value);
      numeric[i * p + j] = present && f.sd > 0 ? (value - f.mean) / f.sd : 0;
      if (f.missingColumn !== null) slots[i * q + slot++] = present ? -1 : f.missingColumn;
    });
  });
  return { rows: rows.length, numericCount: p, numeric, slotCount: q, slots, dimension: encoding.columns.length };
}

/** One term of a customer's logit: a column and its contribution (coefficient × standardised value, or the coefficient of a set indicator). */
export interface Contribution {
  column: number;
  contribution: number;
}

/** The non-zero terms of row `i` besides the intercept; with the intercept they sum to the logit. */
export function contributions(design: Design, beta: ArrayLike<number>, i: number): Contribution[] {
  const out: Contribution[] = [];
  const { numericCount: p, slotCount: q, numeric, slots } = design;
  for (let j = 0; j < p; j++) {
    const c = beta[1 + j] * numeric[i * p + j];
    if (c !== 0) out.push({ column: 1 + j, contribution: c });
  }
  for (let s = 0; s < q; s++) {
    const column = slots[i * q + s];
    if (column >= 0 && beta[column] !== 0) out.push({ column, contribution: beta[column] });
  }
  return out;
}

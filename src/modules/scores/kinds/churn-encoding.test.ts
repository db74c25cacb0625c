import { contributions, encodeRows, learnEncoding, MISSING_LEVEL, OTHER_LEVEL, type FeatureRow } from './churn-encoding';
import { churnPropensityKind, scoreFeatureRows, type ChurnPropensityParameters } from './churn-propensity';

const row = (plan: unknown, age: unknown, calls: number | null): FeatureRow => ({
  customerId: '1',
  traits: [plan === undefined ? null : JSON.stringify(plan), age === undefined ? null : JSON.stringify(age)],
  numbers: [calls],
});

describe('the CHURN_PROPENSITY encoding', () => {
  // plan: 30 × "basic", 20 × "pro", 3 × "gold" (rare), 2 missing; age: numbers with one absent and one JSON null.
  const rows: FeatureRow[] = [
    ...Array.from({ length: 30 }, (_, i) => row('basic', 20 + i, i)),
    ...Array.from({ length: 20 }, (_, i) => row('pro', 30 + i, 2 * i)),
    ...Array.from({ length: 3 }, () => row('gold', 40, 1)),
    row(undefined, undefined, null),
    row(null, null, 4),
  ];
  const encoding = learnEncoding(rows, ['plan', 'age'], ['calls'], 5);

  test('numbers stay numeric and are standardised; strings are one-hot with rare levels pooled and missing its own level', () => {
    expect(encoding.numeric.map((f) => f.feature)).toEqual(['age', 'calls']);
    expect(encoding.categorical).toHaveLength(1);
    expect(encoding.categorical[0]!.levels).toEqual(['basic', 'pro']);
    expect(encoding.columns.map((c) => c.feature)).toEqual([
      '(intercept)',
      'age',
      'calls',
      'plan = basic',
      'plan = pro',
      `plan = ${OTHER_LEVEL}`,
      `plan = ${MISSING_LEVEL}`,
      `age = ${MISSING_LEVEL}`,
      `calls = ${MISSING_LEVEL}`,
    ]);
    const ages = rows.flatMap((r) => (r.traits[1] && JSON.parse(r.traits[1]) !== null ? [JSON.parse(r.traits[1]) as number] : []));
    const mean = ages.reduce((a, b) => a + b, 0) / ages.length;
    const sd = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / (ages.length - 1));
    expect(encoding.numeric[0]).toMatchObject({ trait: 'age', source: 'trait' });
    expect(encoding.numeric[0]!.mean).toBeCloseTo(mean, 12);
    expect(encoding.numeric[0]!.sd).toBeCloseTo(sd, 12);
  });

  test('encodes rows: a rare or unseen level as (other), a missing value as (missing), a missing number as the mean plus its flag', () => {
    const design = encodeRows(encoding, [row('gold', 25, 3), row('platinum', undefined, null), row(undefined, 31, 0), row(true, 31, 0)]);
    const [age, calls] = encoding.numeric;
    const slots = (i: number) => Array.from(design.slots.slice(i * design.slotCount, (i + 1) * design.slotCount));
    // gold (rare) → (other); age 25 standardised; calls present.
    expect(slots(0)).toEqual([5, -1, -1]);
    expect(design.numeric[0]).toBeCloseTo((25 - age!.mean) / age!.sd, 12);
    expect(design.numeric[1]).toBeCloseTo((3 - calls!.mean) / calls!.sd, 12);
    // An unseen level → (other); absent age and null calls → 0 and their flags.
    expect(slots(1)).toEqual([5, 7, 8]);
    expect([design.numeric[2], design.numeric[3]]).toEqual([0, 0]);
    // No plan → (missing); a boolean is a level ("true"), unseen → (other).
    expect(slots(2)[0]).toBe(6);
    expect(slots(3)[0]).toBe(5);
  });

  test('a trait mixing numbers and strings is categorical, numbers read as text; an unseen level scores as nothing when training pooled none', () => {
    const mixed = learnEncoding(
      [...Array.from({ length: 10 }, () => row('a', 1, 0)), ...Array.from({ length: 10 }, () => row(3, '1', 0))],
      ['plan', 'age'],
      [],
      1,
    );
    expect(mixed.numeric).toEqual([]);
    // The number 1 and the string "1" are the same level once read as text.
    expect(mixed.categorical.map((c) => c.levels)).toEqual([['3', 'a'], ['1']]);
    const design = encodeRows(mixed, [row('zzz', 1, 0)]);
    expect(Array.from(design.slots)).toEqual([-1, mixed.categorical[1]!.firstColumn]);
  });

  test('explanations: intercept + listed contributions + rest = logit, the top five each way, contribution = coefficient × standardised value', () => {
    const beta = encoding.columns.map((_, j) => (j % 2 === 0 ? 0.3 * j : -0.2 * j) - 0.1);
    const parameters: ChurnPropensityParameters = {
      encoding,
      beta,
      lambda: 0.01,
      numberNames: ['calls'],
      channels: [],
      features: { traits: ['plan', 'age'], stats: false, behavior: [] },
    };
    const bands = { medium: 0.3, high: 0.6 };
    const [scored] = scoreFeatureRows(parameters, bands, [row('pro', 33, 5)]);
    const e = churnPropensityKind.components({ values: scored!.componentValues, keys: scored!.componentKeys ?? null }) as {
      probability: number;
      logit: number;
      intercept: number;
      rest: number;
      up: { feature: string; contribution: number }[];
      down: { feature: string; contribution: number }[];
    };
    const terms = contributions(encodeRows(encoding, [row('pro', 33, 5)]), beta, 0);
    const logit = beta[0]! + terms.reduce((s, t) => s + t.contribution, 0);
    expect(e.logit).toBeCloseTo(logit, 6);
    expect(e.intercept + [...e.up, ...e.down].reduce((s, t) => s + t.contribution, 0) + e.rest).toBeCloseTo(e.logit, 5);
    expect(e.probability).toBeCloseTo(1 / (1 + Math.exp(-logit)), 6);
    expect(scored!.label).toBe(e.probability < 0.3 ? 'LOW' : e.probability < 0.6 ? 'MEDIUM' : 'HIGH');
    const age = encoding.numeric[0]!;
    const ageTerm = [...e.up, ...e.down].find((t) => t.feature === 'age')!;
    expect(ageTerm.contribution).toBeCloseTo((beta[1]! * (33 - age.mean)) / age.sd, 6);
    expect([...e.up, ...e.down].map((t) => t.feature)).toContain('plan = pro');
  });
});

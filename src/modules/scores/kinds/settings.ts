import { z } from 'zod';

/** Interaction types that count as transactions, shared by RFM and CLV. @defaultValue ['purchase', 'order'] */
export const transactionTypesSetting = z.array(z.string().min(1).max(64)).min(1, 'give at least one interaction type').max(32).default(['purchase', 'order']);

/** A number of days, 1 to 36,500. */
export const daysSetting = (defaultDays: number) => z.number().positive().max(36_500).default(defaultDays);

/** Rounds to `digits` decimals, for components meant to be read. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * A kind's stored figures by name, for its `components`: each rounded to its
 * decimals (null keeps it as stored). Names past the values stored (a score
 * written before the kind had them) are left out.
 */
export function namedFigures(values: readonly number[], figures: readonly (readonly [name: string, digits: number | null])[]): Record<string, number> {
  const named: Record<string, number> = {};
  figures.forEach(([name, digits], i) => {
    const value = values[i];
    if (value !== undefined) named[name] = digits === null ? value : round(value, digits);
  });
  return named;
}

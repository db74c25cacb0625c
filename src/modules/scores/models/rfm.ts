/** The RFM segments, from the most to the least valuable. */
export const RFM_LABELS = [
  'Champions',
  'Loyal',
  'Potential Loyalist',
  'New Customers',
  'Promising',
  'Need Attention',
  'About to Sleep',
  'At Risk',
  'Cannot Lose Them',
  'Hibernating',
  'Lost',
] as const;

/** One of {@link RFM_LABELS}. */
export type RfmLabel = (typeof RFM_LABELS)[number];

/**
 * Rows: recency score R. Columns: FM = ⌈(F + M) / 2⌉, the frequency and
 * monetary scores averaged and rounded half up.
 */
const GRID: readonly (readonly RfmLabel[])[] = [
  /* R = 1 */ ['Lost', 'Lost', 'At Risk', 'At Risk', 'Cannot Lose Them'],
  /* R = 2 */ ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', 'Cannot Lose Them'],
  /* R = 3 */ ['About to Sleep', 'About to Sleep', 'Need Attention', 'Loyal', 'Loyal'],
  /* R = 4 */ ['Promising', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal'],
  /* R = 5 */ ['New Customers', 'Potential Loyalist', 'Potential Loyalist', 'Champions', 'Champions'],
];

/**
 * The segment of an RFM score (recency, frequency and monetary quintiles, each
 * 1 = worst … 5 = best; Hughes 1994, "Strategic Database Marketing"), on the
 * widely used grid of recency against the average of frequency and monetary
 * value. It follows the common R × F segment map of the RFM guides and their
 * re-implementations, with F replaced by FM = ⌈(F + M)/2⌉ and the low-R,
 * low-FM corner named Lost:
 *
 * | R \ FM | 1              | 2                  | 3                  | 4          | 5                |
 * | ------ | -------------- | ------------------ | ------------------ | ---------- | ---------------- |
 * | 5      | New Customers  | Potential Loyalist | Potential Loyalist | Champions  | Champions        |
 * | 4      | Promising      | Potential Loyalist | Potential Loyalist | Loyal      | Loyal            |
 * | 3      | About to Sleep | About to Sleep     | Need Attention     | Loyal      | Loyal            |
 * | 2      | Hibernating    | Hibernating        | At Risk            | At Risk    | Cannot Lose Them |
 * | 1      | Lost           | Lost               | At Risk            | At Risk    | Cannot Lose Them |
 *
 * Every one of the 125 scores falls in exactly one cell, and every label has a cell.
 *
 * @throws RangeError when a score is not an integer from 1 to 5.
 * @example rfmLabel(5, 4, 5) // 'Champions'
 */
export function rfmLabel(r: number, f: number, m: number): RfmLabel {
  for (const [name, value] of [
    ['r', r],
    ['f', f],
    ['m', m],
  ] as const) {
    if (!(Number.isInteger(value) && value >= 1 && value <= 5)) {
      throw new RangeError(`RFM score ${name} must be an integer from 1 to 5, got ${value}`);
    }
  }
  const fm = Math.ceil((f + m) / 2);
  return GRID[r - 1][fm - 1];
}

import { RFM_LABELS, rfmLabel } from './rfm';

const scores = [1, 2, 3, 4, 5];

describe('rfmLabel', () => {
  test('gives every one of the 125 scores exactly one of the listed labels, and uses every label', () => {
    const used = new Set<string>();
    for (const r of scores) {
      for (const f of scores) {
        for (const m of scores) {
          const label = rfmLabel(r, f, m);
          expect(RFM_LABELS).toContain(label);
          used.add(label);
        }
      }
    }
    expect([...used].sort()).toEqual([...RFM_LABELS].sort());
    expect(RFM_LABELS).toHaveLength(11);
  });

  test.each([
    [5, 5, 5, 'Champions'],
    [5, 4, 3, 'Champions'], // FM = ⌈3.5⌉ = 4
    [4, 4, 3, 'Loyal'],
    [5, 3, 3, 'Potential Loyalist'],
    [5, 1, 1, 'New Customers'],
    [4, 1, 1, 'Promising'],
    [3, 4, 5, 'Loyal'],
    [4, 5, 4, 'Loyal'],
    [3, 3, 3, 'Need Attention'],
    [3, 2, 1, 'About to Sleep'],
    [2, 3, 3, 'At Risk'],
    [1, 5, 5, 'Cannot Lose Them'],
    [2, 5, 4, 'Cannot Lose Them'], // FM = ⌈4.5⌉ = 5
    [2, 1, 2, 'Hibernating'],
    [1, 2, 2, 'Lost'],
    [1, 1, 1, 'Lost'],
  ])('labels R=%p F=%p M=%p as %p', (r, f, m, label) => {
    expect(rfmLabel(r, f, m)).toBe(label);
  });

  test('depends on F and M only through their average', () => {
    for (const r of scores) expect(rfmLabel(r, 1, 5)).toBe(rfmLabel(r, 5, 1));
  });

  test('rejects scores outside 1..5', () => {
    expect(() => rfmLabel(0, 3, 3)).toThrow(/r must be an integer from 1 to 5/);
    expect(() => rfmLabel(3, 6, 3)).toThrow(/f must be/);
    expect(() => rfmLabel(3, 3, 2.5)).toThrow(/m must be/);
  });
});

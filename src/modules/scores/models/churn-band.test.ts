import { CHURN_BANDS, CHURN_BAND_THRESHOLDS, churnBand } from './churn-band';

describe('churnBand', () => {
  test.each([
    [0, 'LOW'],
    [0.2999, 'LOW'],
    [0.3, 'MEDIUM'],
    [0.6999, 'MEDIUM'],
    [0.7, 'HIGH'],
    [1, 'HIGH'],
  ])('puts a risk of %p in %p', (risk, band) => {
    expect(churnBand(risk)).toBe(band);
  });

  test('exports its bands in order and its thresholds', () => {
    expect(CHURN_BANDS).toEqual(['LOW', 'MEDIUM', 'HIGH']);
    expect(CHURN_BAND_THRESHOLDS).toEqual({ medium: 0.3, high: 0.7 });
  });

  test('rejects a risk that is not a probability', () => {
    expect(() => churnBand(-0.1)).toThrow(RangeError);
    expect(() => churnBand(1.1)).toThrow(/\[0, 1\]/);
    expect(() => churnBand(Number.NaN)).toThrow(RangeError);
  });
});

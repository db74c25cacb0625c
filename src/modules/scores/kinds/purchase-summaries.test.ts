import { idRangeOf, type CustomerPurchaseSummary } from './purchase-summaries';

const summaries: CustomerPurchaseSummary[] = ['7', '9', '10', '11', '99', '100', '101', '1000'].map((customerId) => ({ customerId, x: 1, tx: 1, T: 2, m: 3 }));
const ids = (lo: string, hi: string) => idRangeOf(summaries, [lo, hi]).map((s) => s.customerId);

test('idRangeOf takes the summaries of an inclusive id range, comparing ids as numbers', () => {
  expect(ids('9', '100')).toEqual(['9', '10', '11', '99', '100']);
  expect(ids('8', '10')).toEqual(['9', '10']);
  expect(ids('1', '6')).toEqual([]);
  expect(ids('102', '999')).toEqual([]);
  expect(ids('1', '5000')).toEqual(summaries.map((s) => s.customerId));
  expect(ids('1000', '1000')).toEqual(['1000']);
  expect(idRangeOf([], ['1', '2'])).toEqual([]);
});

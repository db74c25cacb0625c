import { calibrationTable, crossValidate, fitLogistic, linearPredictor, logLoss, rocAuc, sigmoid, stratifiedFolds, type Design } from './logistic';
import { minimize, runToEnd } from './optimize';
import { seededUniform, standardNormal } from './test-support/random';

/** A design of dense numeric columns only. */
function denseDesign(columns: number[][]): Design {
  const rows = columns[0].length;
  const p = columns.length;
  const numeric = new Float64Array(rows * p);
  for (let i = 0; i < rows; i++) for (let j = 0; j < p; j++) numeric[i * p + j] = columns[j][i];
  return { rows, numericCount: p, numeric, slotCount: 0, slots: new Int32Array(0), dimension: 1 + p };
}

const logit = (p: number) => Math.log(p / (1 - p));

describe('fitLogistic (Newton / IRLS)', () => {
  test('without a penalty, one binary predictor: the closed form from the 2×2 table', () => {
    // x = 0: 30 customers, 6 left; x = 1: 20 customers, 12 left. The MLE reproduces each group's rate exactly:
    // β0 = logit(6/30), β1 = logit(12/20) − logit(6/30).
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 30; i++) {
      x.push(0);
      y.push(i < 6 ? 1 : 0);
    }
    for (let i = 0; i < 20; i++) {
      x.push(1);
      y.push(i < 12 ? 1 : 0);
    }
    const fit = runToEnd(fitLogistic(denseDesign([x]), Uint8Array.from(y), 0));
    expect(fit.converged).toBe(true);
    expect(fit.beta[0]).toBeCloseTo(logit(0.2), 10);
    expect(fit.beta[1]).toBeCloseTo(logit(0.6) - logit(0.2), 10);
  });

  test('one-hot indicators without a penalty reproduce each level’s rate too', () => {
    // Levels A (10 rows, 2 left), B (10 rows, 5 left), C (20 rows, 15 left). Without a penalty, one-hot columns for
    // every level beside an intercept are not identified, so A is the reference (no column) and B, C are indicators.
    const slots: number[] = [];
    const y: number[] = [];
    const add = (column: number, n: number, positives: number) => {
      for (let i = 0; i < n; i++) {
        slots.push(column);
        y.push(i < positives ? 1 : 0);
      }
    };
    add(-1, 10, 2);
    add(1, 10, 5);
    add(2, 20, 15);
    const design: Design = { rows: 40, numericCount: 0, numeric: new Float64Array(0), slotCount: 1, slots: Int32Array.from(slots), dimension: 3 };
    const fit = runToEnd(fitLogistic(design, Uint8Array.from(y), 0));
    expect(fit.beta[0]).toBeCloseTo(logit(0.2), 9);
    expect(fit.beta[1]).toBeCloseTo(logit(0.5) - logit(0.2), 9);
    expect(fit.beta[2]).toBeCloseTo(logit(0.75) - logit(0.2), 9);
  });

  test('with an L2 penalty: the minimum that Nelder–Mead finds on the objective written out independently', () => {
    const uniform = seededUniform(7);
    const n = 400;
    const x1 = Array.from({ length: n }, () => standardNormal(uniform));
    const x2 = Array.from({ length: n }, () => standardNormal(uniform));
    const y = x1.map((v, i) => (uniform() < sigmoid(-0.5 + 1.2 * v - 0.8 * x2[i]) ? 1 : 0));
    const lambda = 0.05;
    const fit = runToEnd(fitLogistic(denseDesign([x1, x2]), Uint8Array.from(y), lambda));
    // The penalised mean negative log-likelihood, written from its definition.
    const objective = ([b0, b1, b2]: readonly number[]) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const p = 1 / (1 + Math.exp(-(b0! + b1! * x1[i] + b2! * x2[i])));
        sum -= y[i] ? Math.log(p) : Math.log(1 - p);
      }
      return sum / n + (lambda / 2) * (b1! * b1! + b2! * b2!);
    };
    const reference = minimize(objective, [0, 0, 0], { fTolerance: 1e-15, xTolerance: 1e-10 });
    expect(reference.converged).toBe(true);
    for (let j = 0; j < 3; j++) expect(fit.beta[j]).toBeCloseTo(reference.x[j]!, 6);
    expect(fit.objective).toBeCloseTo(reference.value, 10);
    // The penalty shrinks the slopes towards 0 compared with the unpenalised fit.
    const free = runToEnd(fitLogistic(denseDesign([x1, x2]), Uint8Array.from(y), 0));
    expect(Math.abs(fit.beta[1])).toBeLessThan(Math.abs(free.beta[1]));
    expect(Math.abs(fit.beta[2])).toBeLessThan(Math.abs(free.beta[2]));
  });

  test('refuses separable data without a penalty, and fits it with one', () => {
    const design = denseDesign([[-2, -1, 1, 2]]);
    const y = Uint8Array.from([0, 0, 1, 1]);
    expect(() => runToEnd(fitLogistic(design, y, 0))).toThrow(RangeError);
    const fit = runToEnd(fitLogistic(design, y, 0.1));
    expect(fit.converged).toBe(true);
    expect(sigmoid(linearPredictor(design, fit.beta, 3))).toBeGreaterThan(0.5);
  });
});

describe('evaluation', () => {
  test('ROC AUC counts the ranked pairs, ties as half', () => {
    // Positives at 0.9, 0.4; negatives at 0.4, 0.1: pairs (0.9>0.4, 0.9>0.1, 0.4=0.4 → ½, 0.4>0.1) = 3.5 / 4.
    expect(rocAuc([0.9, 0.4, 0.4, 0.1], [1, 1, 0, 0])).toBe(0.875);
    expect(rocAuc([0.1, 0.2], [1, 0])).toBe(0);
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
  });

  test('log loss and the 10-bin calibration table', () => {
    expect(logLoss([0.5, 0.5], [1, 0])).toBeCloseTo(Math.log(2), 12);
    const table = calibrationTable([0.05, 0.07, 0.55, 0.95, 1], [0, 1, 1, 1, 0]);
    expect(table).toHaveLength(10);
    expect(table[0]).toMatchObject({ lower: 0, upper: 0.1, count: 2, observedRate: 0.5 });
    expect(table[0].meanPredicted).toBeCloseTo(0.06, 12);
    expect(table[5]).toMatchObject({ count: 1, observedRate: 1 });
    expect(table[9]).toMatchObject({ count: 2, observedRate: 0.5 });
    expect(table[9].meanPredicted).toBeCloseTo(0.975, 12);
    expect(table[3]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null });
  });

  test('stratified folds keep the class balance and are the same on every run', () => {
    const y = Uint8Array.from({ length: 103 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const folds = stratifiedFolds(y, 5);
    expect(stratifiedFolds(y, 5)).toEqual(folds);
    for (let f = 0; f < 5; f++) {
      const positives = [...y].filter((v, i) => v === 1 && folds[i] === f).length;
      expect(positives === 5 || positives === 6).toBe(true);
    }
  });

  test('cross-validation picks a penalty and predicts every row out of fold', () => {
    const uniform = seededUniform(3);
    const n = 600;
    // One informative column and ten of noise: some shrinkage beats none out of fold.
    const columns = Array.from({ length: 11 }, () => Array.from({ length: n }, () => standardNormal(uniform)));
    const y = Uint8Array.from(columns[0].map((v) => (uniform() < sigmoid(0.8 * v) ? 1 : 0)));
    const design = denseDesign(columns);
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const cv = runToEnd(crossValidate(design, y, rows, [1e-4, 1e-2, 1e-1, 1], 5));
    expect(cv.path.map((r) => r.lambda)).toEqual([1e-4, 1e-2, 1e-1, 1]);
    expect(cv.best.logLoss).toBe(Math.min(...cv.path.map((r) => r.logLoss)));
    expect(cv.best.auc).toBeGreaterThan(0.6);
    expect(cv.predictions.every((p) => p > 0 && p < 1)).toBe(true);
    expect(rocAuc(cv.predictions, y)).toBeCloseTo(cv.best.auc, 12);
  });
});

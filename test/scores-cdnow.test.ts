import { readFileSync } from 'node:fs';
import path from 'node:path';
import { globalId } from '../src/graphql/ids';
import { customerLifetimeValue, expectedAverageValue, expectedPurchases, probabilityAlive } from '../src/modules/scores/models';
import { CustomerScoresDocument, RecordInteractionsDocument, ScoreModelsDocument, UpdateScoreModelDocument, type InteractionInput } from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';

/**
 * The CDNOW acceptance test: the 1/10 sample goes in through the ingest API
 * as purchase interactions, the worker fits BG/NBD and Gamma-Gamma as of
 * 1997-09-30, and the fitted parameters must equal the published ones
 * (see test/fixtures/cdnow/README.md) to two decimals.
 */
const DATA_FILE = path.join(__dirname, 'fixtures/cdnow/CDNOW_sample.txt');
const BATCH = 2_500;

function cdnowInteractions(): InteractionInput[] {
  return readFileSync(DATA_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const [, sampleId, date, cds, value] = line.trim().split(/\s+/);
      return {
        customer: { identifiers: [{ type: 'cdnow', value: String(Number(sampleId)) }] },
        channel: 'web',
        type: 'purchase',
        // Noon UTC: the calendar day is the same in every time zone the day-grouping could use.
        occurredAt: `${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6, 8)}T12:00:00Z`,
        value: Number(value),
        currency: 'USD',
        properties: { cds: Number(cds) },
        source: 'cdnow',
        // Several purchases on one day are distinct deliveries: the line number keeps them apart.
        externalId: `line-${index + 1}`,
      };
    });
}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ workers: true });
});
afterAll(() => app.close());

test('CDNOW through the ingest path: BG/NBD and Gamma-Gamma fitted as of 1997-09-30 reproduce the published parameters', async () => {
  const rows = cdnowInteractions();
  expect(rows).toHaveLength(6919);
  for (let i = 0; i < rows.length; i += BATCH) {
    const { data, errors } = await app.graphql(RecordInteractionsDocument, { input: rows.slice(i, i + BATCH) });
    expect(errors).toBeUndefined();
    expect(data!.recordInteractions).toMatchObject({ committed: true, rejected: 0, duplicates: 0 });
  }
  const [{ customers }] = await app.sql<{ customers: number }>(`SELECT count(*)::int AS customers FROM customer_identifiers WHERE type = 'cdnow'`);
  expect(customers).toBe(2357);

  // Setting the calibration day schedules the recompute (CLV and CHURN_RISK share the model).
  const updated = await app.graphql(UpdateScoreModelDocument, { kind: 'CLV', settings: { asOf: '1997-09-30', horizonWeeks: 39 } });
  expect(updated.errors).toBeUndefined();
  const clv = await eventually(
    async () => {
      const { data } = await app.graphql(ScoreModelsDocument, {});
      const model = data!.scoreModels.find((m) => m.kind === 'CLV')!;
      const churn = data!.scoreModels.find((m) => m.kind === 'CHURN_RISK')!;
      const [{ scored }] = await app.sql<{ scored: number }>(`SELECT count(*)::int AS scored FROM scores WHERE kind = 'CHURN_RISK'`);
      return model.fittedAt && churn.fittedAt && scored === 2357 ? model : undefined;
    },
    { timeoutMs: 50_000, intervalMs: 250 },
  );

  const p = clv.parameters as Record<string, number>;
  expect(clv.asOf).toBe('1997-09-30T00:00:00.000Z');
  expect(clv.sampleSize).toBe(2357);
  expect(p.r).toBeCloseTo(0.243, 2);
  expect(p.alpha).toBeCloseTo(4.414, 2);
  expect(p.a).toBeCloseTo(0.793, 2);
  expect(p.b).toBeCloseTo(2.426, 2);
  expect(p.p).toBeCloseTo(6.25, 2);
  expect(p.q).toBeCloseTo(3.74, 2);
  expect(p.gamma).toBeCloseTo(15.44, 2);
  const diagnostics = clv.diagnostics as { bgNbd: { logLikelihood: number; converged: boolean }; gammaGamma: { sampleSize: number; converged: boolean } };
  expect(diagnostics.bgNbd.converged).toBe(true);
  expect(diagnostics.bgNbd.logLikelihood).toBeCloseTo(-9582.4, 1);
  expect(diagnostics.gammaGamma).toMatchObject({ sampleSize: 946, converged: true });

  // Customer 1 of the sample: x = 2, t_x = 30.43, T = 38.86, m = 22.35; stored figures follow the closed forms.
  const [{ id }] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE type = 'cdnow' AND value = '1'`);
  await eventually(async () => {
    const [row] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
    return row.n === 1 ? true : undefined;
  });
  const { data } = await app.graphql(CustomerScoresDocument, { id: globalId('Customer', id), kind: 'CLV', historyFirst: 5 });
  const score = data!.customer!.score!;
  const c = score.components as Record<string, number>;
  // Customer 1 bought on 1997-01-01 and last on 1997-08-02 (213 days), 272 days before the calibration end.
  // Components are display figures: weeks to 10⁻⁴, probabilities and counts to 10⁻⁶, money to 10⁻⁴.
  const tx = 213 / 7;
  const T = 272 / 7;
  expect(c.x).toBe(2);
  expect(c.tx).toBe(30.4286);
  expect(c.T).toBe(38.8571);
  expect(c.m).toBeCloseTo(22.345, 6);
  const betaGeo = { r: p.r, alpha: p.alpha, a: p.a, b: p.b };
  const gammaGamma = { p: p.p, q: p.q, gamma: p.gamma };
  expect(c.pAlive).toBeCloseTo(probabilityAlive(betaGeo, 2, tx, T), 6);
  expect(c.pAlive).toBeCloseTo(0.73, 2);
  expect(c.expectedPurchases).toBeCloseTo(expectedPurchases(betaGeo, 39, 2, tx, T), 6);
  expect(c.expectedPurchases).toBeCloseTo(1.226, 2);
  expect(c.expectedAverageValue).toBeCloseTo(expectedAverageValue(gammaGamma, 2, c.m), 4);
  const clvValue = customerLifetimeValue({ betaGeo, gammaGamma }, { x: 2, tx, T, m: c.m }, { horizonMonths: 9, discountRatePerMonth: 0.01 });
  expect(c.clv).toBeCloseTo(clvValue, 4);
  expect(score.value).toBeCloseTo(clvValue, 2);
  expect(score.modelVersion).toBe(1);
  expect(score.history).toHaveLength(1);

  const churn = data!.customer!.scores.find((s) => s.kind === 'CHURN_RISK')!;
  expect(churn.value).toBeCloseTo(1 - c.pAlive, 4);
  expect((churn.components as { pAlive: number }).pAlive).toBeCloseTo(c.pAlive, 12);
  expect(churn.label).toBe('LOW');
}, 120_000);

test('CLV and CHURN_RISK read the purchase summaries once per full recompute, and once per refreshed scope', async () => {
  // The model fitted above; the refreshes of the ingest above are done.
  await eventually(async () => {
    const [{ dirty }] = await app.sql<{ dirty: number }>(`SELECT count(*)::int AS dirty FROM customers WHERE dirty_since IS NOT NULL`);
    return dirty === 0 ? true : undefined;
  });
  const summaries = (scope: RegExp | null) =>
    app.statements.filter(
      (sql) => /PARTITION BY customer_id ORDER BY day/.test(sql) && (scope ? scope.test(sql) : !/i\.customer_id (BETWEEN|= ANY)/.test(sql)),
    );
  const scores = app.runtime.services.scores;

  // A full recompute: CLV's fit reads every customer's summaries; both kinds' batches take their range of them.
  app.resetStatements();
  const outcome = await scores.recompute(['CLV'], { batchSize: 500 });
  expect(outcome.kinds.map((k) => [k.kind, k.scored])).toEqual([
    ['CLV', 2357],
    ['CHURN_RISK', 2357],
  ]);
  expect(summaries(null)).toHaveLength(1);
  expect(summaries(/i\.customer_id BETWEEN/)).toHaveLength(0);

  // A refresh scores both kinds over its customers from one read.
  const ids = (await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE type = 'cdnow' ORDER BY 1 LIMIT 3`)).map(
    (r) => r.id,
  );
  app.resetStatements();
  await app.dataSource.transaction((manager) => scores.scoreCustomers(manager, ids, ['CLV']));
  expect(summaries(/i\.customer_id = ANY/)).toHaveLength(1);
});

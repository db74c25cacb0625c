import { globalId } from '../src/graphql/ids';
import { QUEUES } from '../src/infra/queue';
import { rfmLabel } from '../src/modules/scores/models';
import {
  CustomerScoresDocument,
  CustomersByScoreDocument,
  RecomputeJobDocument,
  RecomputeScoresDocument,
  RecordInteractionsDocument,
  ScoreDistributionDocument,
  ScoreModelsDocument,
  UpdateScoreModelDocument,
  type InteractionInput,
} from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';
import type { Queryable } from '../src/modules/scores/kinds/kind';
import { scoreRowsInput, writeScoreInput } from '../src/modules/scores/score-writer';
import { componentsOf } from '../src/modules/scores/score-loaders';

const DAY_MS = 86_400_000;

/** Every score's history points, as `Score.history` lists them: the current value, then each one it replaced (`score_history`). */
const POINTS = `(SELECT customer_id, kind, value, label, component_values, changed_at AS recorded_at, 1 AS current FROM scores
                  UNION ALL SELECT customer_id, kind, value, label, component_values, recorded_at, 0 FROM score_history) AS points`;

/**
 * Twelve customers with no ties in any RFM dimension: customer i has f(i)
 * purchases, the last d(i) days ago, worth v(i) in total (one purchase
 * carries the whole value, the others are worth 0).
 */
const CUSTOMERS = Array.from({ length: 12 }, (_, k) => {
  const i = k + 1;
  return { email: `c${i}@example.com`, frequency: ((i * 5) % 12) + 1, daysAgo: ((i * 7) % 12) * 10 + 1, monetary: (((i * 11) % 12) + 1) * 100 };
});

function rfmInteractions(now = Date.now()): InteractionInput[] {
  return CUSTOMERS.flatMap((c) =>
    Array.from({ length: c.frequency }, (_, n) => ({
      customer: { identifiers: [{ type: 'email', value: c.email }] },
      channel: 'payment',
      type: 'purchase',
      occurredAt: new Date(now - (c.daysAgo + n) * DAY_MS).toISOString(),
      value: n === 0 ? c.monetary : 0,
      source: 'scores-test',
      externalId: `${c.email}-${n}`,
    })),
  );
}

/** Postgres ntile(5), computed independently: the first n mod 5 buckets hold one row more. */
function quintiles(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const n = values.length;
  const small = Math.floor(n / 5);
  const big = n % 5;
  const result = new Array<number>(n);
  order.forEach(([, index], position) => {
    result[index] = position < big * (small + 1) ? Math.floor(position / (small + 1)) + 1 : big + Math.floor((position - big * (small + 1)) / small) + 1;
  });
  return result;
}

async function customerId(app: TestApp, email: string): Promise<string> {
  const [row] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE type = 'email' AND value = $1`, [email]);
  return row.id;
}

async function ingest(app: TestApp, input: InteractionInput[]) {
  const { data, errors } = await app.graphql(RecordInteractionsDocument, { input });
  expect(errors).toBeUndefined();
  expect(data!.recordInteractions.rejected).toBe(0);
}

/** How many batches a full recompute with `batchSize` runs: one per `batchSize` customers (their ids may have gaps). */
async function batchesOf(app: TestApp, batchSize: number): Promise<number> {
  const [{ n }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM customers`);
  return Math.max(1, Math.ceil(n / batchSize));
}

/**
 * A recompute's `onProgress` hook (with `batchSize: 4`) that runs `action` once, at the step reported after its
 * last batch committed: the rebuild is complete and the swap not started. `fits` is how many fit steps come first
 * (one per kind recomputed); `steps()` is how many steps were reported, `lastBatch` the step `action` ran at.
 */
async function afterLastBatch(app: TestApp, fits: number, action: () => Promise<void>) {
  const lastBatch = fits + (await batchesOf(app, 4));
  let steps = 0;
  return {
    lastBatch,
    steps: () => steps,
    onProgress: async () => {
      if (++steps === lastBatch) await action();
    },
  };
}

describe('scores without workers (recompute called on the service)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    await ingest(app, rfmInteractions());
    await app.runtime.services.scores.recompute(['RFM']);
  });
  afterAll(() => app.close());

  test('RFM scores each dimension by quintile over the customers with transactions, labels by segment, value = mean', async () => {
    const r = quintiles(CUSTOMERS.map((c) => -c.daysAgo));
    const f = quintiles(CUSTOMERS.map((c) => c.frequency));
    const m = quintiles(CUSTOMERS.map((c) => c.monetary));
    for (const [i, c] of CUSTOMERS.entries()) {
      const { data } = await app.graphql(CustomerScoresDocument, { id: globalId('Customer', await customerId(app, c.email)), kind: 'RFM' });
      const score = data!.customer!.score!;
      expect(score.components).toMatchObject({ r: r[i], f: f[i], m: m[i], code: `${r[i]}${f[i]}${m[i]}`, frequency: c.frequency, monetary: c.monetary });
      expect((score.components as { recency: number }).recency).toBeCloseTo(c.daysAgo, 1);
      expect(score.value).toBeCloseTo((r[i]! + f[i]! + m[i]!) / 3, 12);
      expect(score.label).toBe(rfmLabel(r[i]!, f[i]!, m[i]!));
    }
    // Every quintile is used, with ntile's sizes 3, 3, 2, 2, 2.
    const [counts] = await app.sql<{ sizes: number[] }>(
      `SELECT array_agg(n ORDER BY r) AS sizes FROM (SELECT component_values[4]::int AS r, count(*)::int AS n FROM scores WHERE kind = 'RFM' GROUP BY 1) x`,
    );
    expect(counts.sizes).toEqual([3, 3, 2, 2, 2]);
  });

  test('scoreModels shows the RFM fit: quintile bounds, sample size, version', async () => {
    const { data } = await app.graphql(ScoreModelsDocument, {});
    const rfm = data!.scoreModels.find((s) => s.kind === 'RFM')!;
    expect(rfm).toMatchObject({ sampleSize: 12, version: 1, settings: { transactionTypes: ['purchase', 'order'], lookbackDays: 365 } });
    expect((rfm.parameters as { frequency: number[] }).frequency).toEqual([3, 6, 8, 10]);
    expect(data!.scoreModels.map((s) => s.kind).sort()).toEqual(['CHURN_PROPENSITY', 'CHURN_RISK', 'CLV', 'ENGAGEMENT', 'RFM']);
    expect(data!.scoreModels.find((s) => s.kind === 'CLV')!.fittedAt).toBeNull();
  });

  test('scoreDistribution buckets every scored customer once', async () => {
    const { data } = await app.graphql(ScoreDistributionDocument, { kind: 'RFM', buckets: 4 });
    expect(data!.scoreDistribution).toHaveLength(4);
    expect(data!.scoreDistribution[0]).toMatchObject({ lower: 1, upper: 2 });
    expect(data!.scoreDistribution.reduce((sum, b) => sum + b.count, 0)).toBe(12);
    const bad = await app.graphql(ScoreDistributionDocument, { kind: 'RFM', buckets: 0 });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'buckets' });
  });

  test('customers can be ordered by a score and filtered by its value and label, with keyset pagination', async () => {
    const all = await app.sql<{ id: string; value: number; label: string }>(`SELECT customer_id::text AS id, value, label FROM scores WHERE kind = 'RFM'`);
    const expected = [...all].sort((a, b) => b.value - a.value || Number(b.id) - Number(a.id)).map((s) => globalId('Customer', s.id));
    const seen: string[] = [];
    let after: string | null | undefined;
    do {
      const { data, errors } = await app.graphql(CustomersByScoreDocument, {
        kind: 'RFM',
        first: 5,
        after,
        orderBy: [{ field: 'SCORE', scoreKind: 'RFM', direction: 'DESC' }],
      });
      expect(errors).toBeUndefined();
      seen.push(...data!.customers.edges.map((e) => e.node.id));
      after = data!.customers.pageInfo.hasNextPage ? data!.customers.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(expected);

    // Scores of a whole page cost one statement (DataLoader), not one per customer.
    app.resetStatements();
    const page = await app.graphql(CustomersByScoreDocument, { kind: 'RFM', first: 12 });
    expect(page.data!.customers.edges.filter((e) => e.node.score)).toHaveLength(12);
    expect(app.statements.filter((sql) => /FROM scores WHERE customer_id = ANY/.test(sql))).toHaveLength(1);

    const atLeast3 = await app.graphql(CustomersByScoreDocument, { kind: 'RFM', filter: { score: { kind: 'RFM', value: { gte: 3 } } } });
    expect(atLeast3.data!.customers.totalCount).toBe(all.filter((s) => s.value >= 3).length);
    expect(atLeast3.data!.customers.edges.every((e) => e.node.score!.value >= 3)).toBe(true);

    const label = all[0].label;
    const byLabel = await app.graphql(CustomersByScoreDocument, { kind: 'RFM', filter: { score: { kind: 'RFM', labelIn: [label] } } });
    expect(byLabel.data!.customers.totalCount).toBe(all.filter((s) => s.label === label).length);

    const missingKind = await app.graphql(CustomersByScoreDocument, { kind: 'RFM', orderBy: [{ field: 'SCORE' }] });
    expect(missingKind.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'orderBy[0].scoreKind' });
  });

  test('history gets one point per change, not per run; an interrupted recompute rerun ends as an uninterrupted one', async () => {
    const counts = async () =>
      new Map(
        (await app.sql<{ id: string; n: number }>(`SELECT customer_id::text AS id, count(*)::int AS n FROM ${POINTS} WHERE kind = 'RFM' GROUP BY 1`)).map(
          (r) => [r.id, r.n],
        ),
      );
    const values = async () =>
      new Map(
        (await app.sql<{ id: string; v: string }>(`SELECT customer_id::text AS id, value || ':' || label AS v FROM scores WHERE kind = 'RFM'`)).map((r) => [
          r.id,
          r.v,
        ]),
      );
    expect([...(await counts()).values()]).toEqual(new Array(12).fill(1));

    await app.runtime.services.scores.recompute(['RFM']);
    expect([...(await counts()).values()]).toEqual(new Array(12).fill(1));

    // The least valuable customer buys a lot, recently: its score changes (and maybe others' quintiles).
    const before = await values();
    const worst = CUSTOMERS.reduce((a, b) => (a.monetary < b.monetary ? a : b));
    const figures = async (table: string) =>
      app.sql<{ values: number[] }>(`SELECT component_values AS values FROM ${table} WHERE customer_id = $1 AND kind = 'RFM'`, [
        await customerId(app, worst.email),
      ]);
    const [replaced] = await figures('scores');
    await ingest(
      app,
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => ({
        customer: { identifiers: [{ type: 'email', value: worst.email }] },
        channel: 'payment',
        type: 'purchase',
        occurredAt: new Date(Date.now() - 60_000 - n * 1000).toISOString(),
        value: 5_000,
        source: 'scores-test',
        externalId: `big-${n}`,
      })),
    );
    await app.runtime.services.scores.recompute(['RFM']);
    const after = await values();
    const history = await counts();
    const changed = [...after.keys()].filter((id) => before.get(id) !== after.get(id));
    expect(changed).toContain(await customerId(app, worst.email));
    for (const [id, n] of history) expect(n).toBe(changed.includes(id) ? 2 : 1);
    // The value replaced, then the new one, in the order they held.
    const worstId = await customerId(app, worst.email);
    const points = await app.sql<{ v: string }>(
      `SELECT value || ':' || label AS v FROM ${POINTS} WHERE customer_id = $1 AND kind = 'RFM' ORDER BY recorded_at, current`,
      [worstId],
    );
    expect(points.map((p) => p.v)).toEqual([before.get(worstId), after.get(worstId)]);
    // The value replaced went to history with its own figures (components), not the new ones.
    expect(await figures('score_history')).toEqual([replaced]);
    expect((await figures('scores'))[0]!.values).not.toEqual(replaced!.values);

    // Kill a recompute after its second batch, and one in its last step (the swap): each leaves scores and history
    // as they were; run again, it ends with the same scores and history as one clean run.
    await app.sql(`DELETE FROM score_history`);
    await app.sql(`DELETE FROM scores`);
    for (const killedAt of [3, 1 + (await batchesOf(app, 4)) + 1]) {
      let steps = 0;
      await expect(
        app.runtime.services.scores.recompute(['RFM'], {
          batchSize: 4,
          onProgress: () => {
            if (++steps === killedAt) throw new Error('worker killed');
          },
        }),
      ).rejects.toThrow('worker killed');
      expect(steps).toBe(killedAt);
      expect((await values()).size).toBe(0);
      expect((await counts()).size).toBe(0);
    }
    await app.runtime.services.scores.recompute(['RFM'], { batchSize: 4 });
    expect(await values()).toEqual(after);
    expect([...(await counts()).values()]).toEqual(new Array(12).fill(1));
  });

  test('while a full recompute runs, readers see the previous scores; after its swap, every new one at once', async () => {
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM']);
    const values = async () =>
      new Map(
        (
          await app.sql<{ id: string; v: string }>(
            `SELECT customer_id::text AS id, value || ':' || label || ':' || model_version AS v FROM scores WHERE kind = 'RFM'`,
          )
        ).map((r) => [r.id, r.v]),
      );
    const before = await values();
    const seen: Map<string, string>[] = [];
    await scores.recompute(['RFM'], { batchSize: 4, onProgress: async () => void seen.push(await values()) });
    // Every step (the fit, each batch, the swap's history written but not committed) saw the scores as they were.
    expect(seen.length).toBeGreaterThan(3);
    for (const snapshot of seen) expect(snapshot).toEqual(before);
    // Then all changed at once: the run bumped the model version of every score.
    const after = await values();
    expect(after.size).toBe(before.size);
    for (const [id, v] of after) expect(v).not.toBe(before.get(id));
  });

  test('a refresh while a full recompute runs is kept: its customer is scored again after the swap, in order, with one history point per change', async () => {
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM']);
    const email = CUSTOMERS[3]!.email;
    const id = await customerId(app, email);
    const rfm = async () =>
      (
        await app.sql<{ value: number; label: string; frequency: number }>(
          `SELECT value, label, component_values[2]::int AS frequency FROM scores WHERE customer_id = $1 AND kind = 'RFM'`,
          [id],
        )
      )[0]!;
    const history = async () =>
      app.sql<{ frequency: number }>(
        `SELECT component_values[2]::int AS frequency FROM ${POINTS} WHERE customer_id = $1 AND kind = 'RFM' ORDER BY recorded_at, current`,
        [id],
      );
    const before = await rfm();
    const historyBefore = (await history()).length;
    let refreshed = false;
    await scores.recompute(['RFM'], {
      batchSize: 4,
      onProgress: async (percent) => {
        if (refreshed || percent === 0) return;
        refreshed = true;
        // After the fit, while batches run: two purchases arrive and the customer is refreshed, into `scores` as it is.
        await ingest(
          app,
          [1, 2].map((n) => ({
            customer: { identifiers: [{ type: 'email', value: email }] },
            channel: 'payment',
            type: 'purchase',
            occurredAt: new Date(Date.now() - n * 60_000).toISOString(),
            value: 10,
            source: 'rebuild-race',
            externalId: `refresh-${n}`,
          })),
        );
        await app.dataSource.transaction((manager) => scores.scoreCustomers(manager, [id], ['RFM']));
        expect((await rfm()).frequency).toBe(before.frequency + 2);
      },
    });
    expect(refreshed).toBe(true);
    expect((await rfm()).frequency).toBe(before.frequency + 2);
    const points = await history();
    expect(points.slice(historyBefore).map((p) => p.frequency)).toEqual([before.frequency + 2]);
  });

  test("a refresh while a full recompute runs that removes a customer's every score is not undone by the swap", async () => {
    const scores = app.runtime.services.scores;
    const id = await customerId(app, CUSTOMERS[5]!.email);
    await scores.recompute(['RFM']);
    const rfm = async () => app.sql<{ value: number }>(`SELECT value FROM scores WHERE customer_id = $1 AND kind = 'RFM'`, [id]);
    expect(await rfm()).toHaveLength(1);
    const removedValue = (await rfm())[0]!.value;
    // After the last batch (the rebuild holds the customer's RFM score): its purchases are withdrawn, and a refresh
    // removes the score from `scores`, writing no score row.
    const hook = await afterLastBatch(app, 1, async () => {
      await app.sql(`DELETE FROM interactions WHERE customer_id = $1`, [id]);
      await app.runtime.services.stats.refreshCustomers([id]);
      expect(await rfm()).toHaveLength(0);
    });
    await scores.recompute(['RFM'], { batchSize: 4, onProgress: hook.onProgress });
    expect(hook.steps()).toBe(hook.lastBatch + 1);
    expect(await rfm()).toHaveLength(0);
    // The removed score is kept as the customer's newest RFM history point.
    const [last] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM score_history h WHERE customer_id = $1 AND kind = 'RFM'
          AND recorded_at = (SELECT max(recorded_at) FROM score_history WHERE customer_id = $1 AND kind = 'RFM')
          AND value = $2::float8`,
      [id, removedValue],
    );
    expect(last!.n).toBe(1);
  });

  test("a refresh after the batch that changed its customer's score adds that change to history once, not again at the swap", async () => {
    const scores = app.runtime.services.scores;
    const email = CUSTOMERS[2]!.email;
    const id = await customerId(app, email);
    await scores.recompute(['ENGAGEMENT']);
    const engagement = async () =>
      (await app.sql<{ value: number }>(`SELECT value FROM scores WHERE customer_id = $1 AND kind = 'ENGAGEMENT'`, [id]))[0]!.value;
    const before = await engagement();
    const history = async () =>
      app.sql<{ value: number }>(`SELECT value FROM score_history WHERE customer_id = $1 AND kind = 'ENGAGEMENT' ORDER BY recorded_at, id`, [id]);
    const pointsBefore = await history();
    // A call today: the next run's batch scores the customer higher and sets the current score aside for history.
    await ingest(app, [
      {
        customer: { identifiers: [{ type: 'email', value: email }] },
        channel: 'phone',
        type: 'call',
        occurredAt: new Date().toISOString(),
        source: 'scores-test',
        externalId: `${email}-touched-call`,
      },
    ]);
    // After the last batch: a refresh of the customer replaces the same score and records it in history itself.
    const hook = await afterLastBatch(app, 1, async () => {
      const [{ setAside }] = await app.sql<{ setAside: number }>(`SELECT count(*)::int AS "setAside" FROM score_history_rebuild WHERE customer_id = $1`, [id]);
      expect(setAside).toBe(1);
      await app.runtime.services.stats.refreshCustomers([id]);
    });
    await scores.recompute(['ENGAGEMENT'], { batchSize: 4, onProgress: hook.onProgress });
    expect(hook.steps()).toBe(hook.lastBatch + 1);
    expect(await engagement()).toBeGreaterThan(before);
    // One new point: the value the call replaced.
    expect(await history()).toEqual([...pointsBefore, { value: before }]);
  });

  test('a targeted rescore requested while a full recompute runs waits for it: a score it removes stays removed', async () => {
    const scores = app.runtime.services.scores;
    const id = await customerId(app, CUSTOMERS[11]!.email);
    await scores.recompute(['RFM']);
    const rfm = async () => app.sql(`SELECT 1 FROM scores WHERE customer_id = $1 AND kind = 'RFM'`, [id]);
    expect(await rfm()).toHaveLength(1);
    let targeted: Promise<number> | undefined;
    // After the last batch (the rebuild holds the customer's RFM score): its purchases are withdrawn and a
    // targeted rescore is requested, which would remove the score.
    const hook = await afterLastBatch(app, 1, async () => {
      await app.sql(`DELETE FROM interactions WHERE customer_id = $1`, [id]);
      targeted = scores.rescoreAfterFullRecompute([id], ['RFM']);
    });
    await scores.recompute(['RFM'], { batchSize: 4, onProgress: hook.onProgress });
    expect(await targeted).toBe(1);
    expect(await rfm()).toHaveLength(0);
  });

  test('an erasure while a full recompute runs leaves no score or history of the customer after the swap', async () => {
    const scores = app.runtime.services.scores;
    const id = await customerId(app, CUSTOMERS[4]!.email);
    let erased = false;
    // The last batch's step, reported after its commit: the rebuild is complete, the swap not started.
    const hook = await afterLastBatch(app, 2, async () => {
      erased = true;
      const [{ rebuilt }] = await app.sql<{ rebuilt: number }>(`SELECT count(*)::int AS rebuilt FROM scores_rebuild WHERE customer_id = $1`, [id]);
      expect(rebuilt).toBeGreaterThan(0);
      const [{ setAside }] = await app.sql<{ setAside: number }>(`SELECT count(*)::int AS "setAside" FROM score_history_rebuild WHERE customer_id = $1`, [id]);
      // The features the fits kept for the batches hold the customer too (RFM: one row; ENGAGEMENT: one per channel).
      const [kept] = await app.sql<{ rfm: number; engagement: number }>(
        `SELECT (SELECT count(*)::int FROM score_features_rfm WHERE customer_id = $1) AS rfm,
                (SELECT count(*)::int FROM score_features_engagement WHERE customer_id = $1) AS engagement`,
        [id],
      );
      expect(kept!.rfm).toBe(1);
      expect(kept!.engagement).toBeGreaterThan(0);
      const receipt = await app.runtime.services.privacy.eraseCustomer(id);
      expect(receipt.tables).toContainEqual({ table: 'scores_rebuild', rows: rebuilt });
      expect(receipt.tables).toContainEqual({ table: 'score_history_rebuild', rows: setAside });
      expect(receipt.tables).toContainEqual({ table: 'score_features_rfm', rows: kept!.rfm });
      expect(receipt.tables).toContainEqual({ table: 'score_features_engagement', rows: kept!.engagement });
    });
    const outcome = await scores.recompute(['RFM', 'ENGAGEMENT'], { batchSize: 4, onProgress: hook.onProgress });
    expect(erased).toBe(true);
    expect(outcome.kinds.map((k) => k.kind)).toEqual(['RFM', 'ENGAGEMENT']);
    const [left] = await app.sql<{ scores: number; history: number; others: number }>(
      `SELECT (SELECT count(*)::int FROM scores WHERE customer_id = $1) AS scores,
              (SELECT count(*)::int FROM score_history WHERE customer_id = $1) AS history,
              (SELECT count(*)::int FROM scores WHERE kind = 'ENGAGEMENT') AS others`,
      [id],
    );
    expect(left).toMatchObject({ scores: 0, history: 0 });
    expect(left!.others).toBeGreaterThan(0);
    const [leftovers] = await app.sql(
      `SELECT to_regclass('scores_rebuild')::text AS scores, to_regclass('score_history_rebuild')::text AS history,
              (SELECT count(*)::int FROM pg_class WHERE relname LIKE 'score\\_features\\_%') AS features`,
    );
    expect(leftovers).toEqual({ scores: null, history: null, features: 0 });
  });

  test('a full recompute whose unlogged features were lost (a Postgres crash empties them) fails and swaps nothing in', async () => {
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM', 'ENGAGEMENT']);
    // computed_at tells a swapped-in row from the one before, whether its value changed or not.
    const current = async () =>
      app.sql(`SELECT customer_id, kind, value, label, component_values, component_keys, computed_at, changed_at FROM scores ORDER BY customer_id, kind`);
    const before = await current();
    expect(before.length).toBeGreaterThan(0);
    const [{ historyBefore }] = await app.sql<{ historyBefore: number }>(`SELECT count(*)::int AS "historyBefore" FROM score_history`);
    // After the last batch: what crash recovery does to unlogged tables (reset to empty), here to the marker.
    const hook = await afterLastBatch(app, 2, async () => {
      await app.sql(`DELETE FROM score_features_intact`);
    });
    const run = scores.recompute(['RFM', 'ENGAGEMENT'], { batchSize: 4, onProgress: hook.onProgress });
    await expect(run).rejects.toThrow(/features were lost during the run/);
    expect(await current()).toEqual(before);
    const [{ historyAfter }] = await app.sql<{ historyAfter: number }>(`SELECT count(*)::int AS "historyAfter" FROM score_history`);
    expect(historyAfter).toBe(historyBefore);
    const [{ leftovers }] = await app.sql<{ leftovers: number }>(
      `SELECT count(*)::int AS leftovers FROM pg_class WHERE relname LIKE 'score\\_features\\_%' OR relname LIKE '%\\_rebuild'`,
    );
    expect(leftovers).toBe(0);
  });

  test('full recomputes of different kinds requested together run one after the other, each keeping the kinds it did not recompute', async () => {
    const scores = app.runtime.services.scores;
    await app.sql(`DELETE FROM scores`);
    const [rfm, engagement] = await Promise.all([scores.recompute(['RFM'], { batchSize: 4 }), scores.recompute(['ENGAGEMENT'], { batchSize: 4 })]);
    const written = await app.sql<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM scores GROUP BY kind ORDER BY kind`);
    expect(written).toEqual([
      { kind: 'ENGAGEMENT', n: engagement.kinds[0]!.scored },
      { kind: 'RFM', n: rfm.kinds[0]!.scored },
    ]);
    // The table swapped in has the indexes of the migrations, under their names.
    const indexes = await app.sql<{ name: string; definition: string }>(
      `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE tablename = 'scores' ORDER BY indexname`,
    );
    expect(indexes.map((i) => i.name)).toEqual(['scores_kind_label_idx', 'scores_kind_value_idx', 'scores_pkey']);
    expect(indexes[0]!.definition).toContain('WHERE (label IS NOT NULL)');
    // The rebuild fills with autovacuum off; the table swapped in has it back (no storage options left).
    const [{ options }] = await app.sql(`SELECT c.reloptions AS options FROM pg_class c WHERE c.oid = 'scores'::regclass`);
    expect(options).toBeNull();
  });

  test('a score whose customer is gone, outside the ids of every customer, goes to history at the next full recompute', async () => {
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM'], { batchSize: 4 });
    const [{ beyond }] = await app.sql<{ beyond: string }>(`SELECT (max(id) + 1000)::text AS beyond FROM customers`);
    // Scores have no foreign key to customers: a row of a customer that no longer exists, past the last id.
    await app.sql(
      `INSERT INTO scores (customer_id, kind, value, label, model_version, computed_at, changed_at)
       VALUES ($1, 'RFM', 3, 'Need Attention', 1, now() - interval '1 day', now() - interval '1 day')`,
      [beyond],
    );
    const outcome = await scores.recompute(['RFM'], { batchSize: 4 });
    expect(outcome.kinds[0]!.scored).toBeGreaterThan(0);
    expect(await app.sql(`SELECT 1 FROM scores WHERE customer_id = $1`, [beyond])).toHaveLength(0);
    const history = await app.sql(`SELECT kind, value, label FROM score_history WHERE customer_id = $1`, [beyond]);
    expect(history).toEqual([{ kind: 'RFM', value: 3, label: 'Need Attention' }]);
    await app.sql(`DELETE FROM score_history WHERE customer_id = $1`, [beyond]);
  });

  test('a full recompute and history pruning batch by count of customers: a stray huge id makes no empty batches', async () => {
    const scores = app.runtime.services.scores;
    // One customer far past the others (an id set by hand, or a sequence moved on): by arithmetic on the ids, a
    // trillion empty ranges of 4.
    const [{ stray }] = await app.sql<{ stray: string }>(
      `INSERT INTO customers (id, kind) OVERRIDING SYSTEM VALUE SELECT max(id) + 4000000000000, 'PERSON' FROM customers RETURNING id::text AS stray`,
    );
    await app.sql(
      `INSERT INTO interactions (customer_id, channel, type, occurred_at, value, source, external_id)
       VALUES ($1, 'payment', 'purchase', now() - interval '3 days', 50, 'scores-test', 'stray-id-purchase')`,
      [stray],
    );
    const batches = await batchesOf(app, 4);
    let steps = 0;
    const outcome = await scores.recompute(['RFM'], { batchSize: 4, onProgress: () => void steps++ });
    expect(steps).toBe(1 + batches + 1);
    expect(outcome.kinds[0]!.scored).toBeGreaterThan(1);
    expect(await app.sql(`SELECT kind FROM scores WHERE customer_id = $1`, [stray])).toEqual([{ kind: 'RFM' }]);
    // History pruning goes by the same ranges: the stray customer's old value (in force 30 days ago) stays.
    await app.sql(
      `INSERT INTO score_history (customer_id, kind, value, label, recorded_at)
       VALUES ($1, 'RFM', 2, 'Hibernating', now() - interval '100 days')`,
      [stray],
    );
    await scores.pruneHistory(30, 4);
    expect(await app.sql(`SELECT value FROM score_history WHERE customer_id = $1`, [stray])).toEqual([{ value: 2 }]);
    await app.sql(`DELETE FROM interactions WHERE customer_id = $1`, [stray]);
    await app.runtime.services.privacy.eraseCustomer(stray);
  });

  test('a deleted customer gets no score from a full recompute (its fits leave it out too); its last scores go to history', async () => {
    const scores = app.runtime.services.scores;
    const id = await customerId(app, CUSTOMERS[6]!.email);
    await scores.recompute(['RFM', 'ENGAGEMENT'], { batchSize: 4 });
    const kindsOf = async () => (await app.sql<{ kind: string }>(`SELECT kind FROM scores WHERE customer_id = $1 ORDER BY kind`, [id])).map((r) => r.kind);
    expect(await kindsOf()).toEqual(['ENGAGEMENT', 'RFM']);
    const sampleSize = async () => Object.fromEntries((await scores.listModels()).map((m) => [m.kind, m.sampleSize]));
    const before = await sampleSize();
    const history = async () =>
      (await app.sql<{ kind: string }>(`SELECT kind FROM score_history WHERE customer_id = $1 ORDER BY kind`, [id])).map((r) => r.kind);
    const historyBefore = await history();
    await app.sql(`UPDATE customers SET deleted_at = now() WHERE id = $1`, [id]);
    try {
      await scores.recompute(['RFM', 'ENGAGEMENT'], { batchSize: 4 });
      expect(await kindsOf()).toEqual([]);
      expect(await sampleSize()).toMatchObject({ RFM: before.RFM! - 1, ENGAGEMENT: before.ENGAGEMENT! - 1 });
      expect(await history()).toEqual([...historyBefore, 'ENGAGEMENT', 'RFM'].sort());
    } finally {
      await app.sql(`UPDATE customers SET deleted_at = NULL WHERE id = $1`, [id]);
      await scores.recompute(['RFM', 'ENGAGEMENT'], { batchSize: 4 });
    }
    expect(await kindsOf()).toEqual(['ENGAGEMENT', 'RFM']);
  });

  test('a customer refresh racing a recompute batch on a new score adds one history point, not two', async () => {
    const id = await customerId(app, CUSTOMERS[0]!.email);
    await app.sql(`DELETE FROM score_history WHERE customer_id = $1 AND kind = 'RFM'`, [id]);
    await app.sql(`DELETE FROM scores WHERE customer_id = $1 AND kind = 'RFM'`, [id]);
    const scores = app.runtime.services.scores;
    // The first writer scores the customer and holds its transaction open.
    const first = app.dataSource.createQueryRunner();
    await first.connect();
    await first.startTransaction();
    await scores.scoreCustomers(first.manager, [id], ['RFM']);
    // The second starts before the first commits: its snapshot has no score for the customer, and its upsert waits.
    const second = app.dataSource.transaction((manager) => scores.scoreCustomers(manager, [id], ['RFM']));
    await eventually(async () => {
      const waiting = await app.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return waiting[0]!.n > 0 ? true : undefined;
    });
    await first.commitTransaction();
    await first.release();
    await second;
    const history = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${POINTS} WHERE customer_id = $1 AND kind = 'RFM'`, [id]);
    expect(history[0]!.n).toBe(1);
    const [score] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE customer_id = $1 AND kind = 'RFM'`, [id]);
    expect(score!.n).toBe(1);
  });

  test('a writer that started before the one it replaces still moves changed_at forward; history lists each value once, newest first', async () => {
    const id = await customerId(app, CUSTOMERS[7]!.email);
    const write = (db: Queryable, value: number) =>
      writeScoreInput(
        db,
        'CLV',
        1,
        { customerIds: [id] },
        {
          sql: `SELECT $1::bigint AS customer_id, $2::float8 AS value, NULL::text AS label, '{}'::float8[] AS component_values, NULL::text[] AS component_keys`,
          params: [id, value],
        },
      );
    const history = async () =>
      (await app.graphql(CustomerScoresDocument, { id: globalId('Customer', id), kind: 'CLV', historyFirst: 10 })).data!.customer!.score!.history.map((p) => ({
        value: p.value,
        at: Date.parse(p.recordedAt),
      }));
    await app.sql(`DELETE FROM scores WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
    await app.sql(`DELETE FROM score_history WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
    await app.dataSource.transaction((manager) => write(manager, 1));
    // This transaction's now() is earlier than that of the write of 2, which commits first.
    const early = app.dataSource.createQueryRunner();
    await early.connect();
    await early.startTransaction();
    await early.query('SELECT now()');
    await app.dataSource.transaction((manager) => write(manager, 2));
    await write(early.manager, 3);
    await early.commitTransaction();
    await early.release();
    const points = await history();
    expect(points.map((p) => p.value)).toEqual([3, 2, 1]);
    expect(points[0]!.at).toBeGreaterThanOrEqual(points[1]!.at);
    expect(points[1]!.at).toBeGreaterThan(points[2]!.at);
    // A superseded value recorded at the current one's instant repeats it (a score removed and restored unchanged): listed once.
    await app.sql(
      `INSERT INTO score_history (customer_id, kind, value, label, component_values, component_keys, recorded_at)
       SELECT customer_id, kind, value, label, component_values, component_keys, changed_at FROM scores WHERE customer_id = $1 AND kind = 'CLV'`,
      [id],
    );
    expect((await history()).map((p) => p.value)).toEqual([3, 2, 1]);
    // CLV is never fitted here: the hand-written score goes.
    await app.sql(`DELETE FROM scores WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
    await app.sql(`DELETE FROM score_history WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
  });

  test('a score written before components were stored as figures keeps its object: read as is, moved to history with it, replaced by a rewrite', async () => {
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM', 'ENGAGEMENT']);
    const [a, b] = await Promise.all([CUSTOMERS[3]!, CUSTOMERS[2]!].map((x) => customerId(app, x.email)));
    await app.sql(`DELETE FROM score_history WHERE customer_id = ANY($1::bigint[])`, [[a, b]]);
    // As the previous release wrote them (a jsonb object, no figures), with values the next computation changes.
    const legacy = { RFM: { recency: 1.5, frequency: 2, monetary: 30, r: 1, f: 1, m: 1, code: '111' }, ENGAGEMENT: { raw: 0.5, byChannel: { web: 1.25 } } };
    await app.sql(`UPDATE scores SET components = $2, component_values = '{}', value = 1 WHERE customer_id = $1 AND kind = 'RFM'`, [a, legacy.RFM]);
    await app.sql(
      `UPDATE scores SET components = $2, component_values = '{}', component_keys = NULL, value = 0.01 WHERE customer_id = $1 AND kind = 'ENGAGEMENT'`,
      [b, legacy.ENGAGEMENT],
    );
    const read = async (id: string, kind: 'RFM' | 'ENGAGEMENT') =>
      (await app.graphql(CustomerScoresDocument, { id: globalId('Customer', id), kind, historyFirst: 5 })).data!.customer!.score!;
    expect((await read(a, 'RFM')).components).toEqual(legacy.RFM);
    expect((await read(b, 'ENGAGEMENT')).components).toEqual(legacy.ENGAGEMENT);
    // A full recompute (its batches and swap) supersedes a's, a refresh (the upsert) b's: each object goes to history.
    await scores.recompute(['RFM']);
    await app.dataSource.transaction((manager) => scores.scoreCustomers(manager, [b], ['ENGAGEMENT']));
    for (const [id, kind] of [
      [a, 'RFM'],
      [b, 'ENGAGEMENT'],
    ] as const) {
      const score = await read(id, kind);
      expect(score.history.map((p) => p.components)).toEqual([score.components, legacy[kind]]);
      expect(score.components).not.toEqual(legacy[kind]);
      const [row] = await app.sql<{ components: unknown; n: number }>(
        `SELECT components, cardinality(component_values) AS n FROM scores WHERE customer_id = $1 AND kind = $2`,
        [id, kind],
      );
      expect(row).toEqual({ components: null, n: expect.any(Number) });
      expect(row!.n).toBeGreaterThan(1);
    }
    await app.sql(`DELETE FROM score_history WHERE customer_id = ANY($1::bigint[])`, [[a, b]]);
  });

  test('figures computed in the worker are stored as given: one array per position when every row has as many finite ones, else per row', async () => {
    const [a, b] = await Promise.all([CUSTOMERS[5]!, CUSTOMERS[6]!].map((x) => customerId(app, x.email)));
    const stored = async () =>
      app.sql<{ values: number[]; keys: string[] | null }>(
        `SELECT component_values AS values, component_keys AS keys FROM scores WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV' ORDER BY customer_id`,
        [[a, b]],
      );
    const write = (rows: [string, number[]][]) =>
      app.dataSource.transaction((manager) =>
        writeScoreInput(
          manager,
          'CLV',
          1,
          { customerIds: [a, b] },
          scoreRowsInput(rows.map(([customerId, componentValues]) => ({ customerId, value: componentValues.length, label: null, componentValues }))),
        ),
      );
    const cases: [string, number[]][][] = [
      [
        [a, [0.1 + 0.2, -1e-300, 52]],
        [b, [7, 1.7976931348623157e308, 0]],
      ],
      [
        [a, [1, NaN, Infinity]],
        [b, [4]],
      ],
      [
        [a, []],
        [b, [-Infinity, 2.5]],
      ],
    ];
    for (const rows of cases) {
      await write(rows);
      expect(await stored()).toEqual(rows.map(([, values]) => ({ values, keys: null })));
    }
    await app.sql(`DELETE FROM scores WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV'`, [[a, b]]);
    await app.sql(`DELETE FROM score_history WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV'`, [[a, b]]);
  });

  test('pruning the history keeps every point of the period and the value in force at its start; current scores stay', async () => {
    const [a, b, c] = await Promise.all([CUSTOMERS[8]!, CUSTOMERS[9]!, CUSTOMERS[10]!].map((x) => customerId(app, x.email)));
    const ago = (days: number) => `now() - interval '${days} days'`;
    for (const id of [a, b, c]) {
      await app.sql(`DELETE FROM scores WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
      await app.sql(`DELETE FROM score_history WHERE customer_id = $1 AND kind = 'CLV'`, [id]);
    }
    // a: values since 100, 60, 40 and 10 days ago, the current one since 5 days; b: the current one since 50 days;
    // c: no current score any more (removed), values since 100 and 60 days ago.
    await app.sql(
      `INSERT INTO score_history (customer_id, kind, value, label, recorded_at) VALUES
         ($1, 'CLV', 100, NULL, ${ago(100)}), ($1, 'CLV', 60, NULL, ${ago(60)}), ($1, 'CLV', 40, NULL, ${ago(40)}),
         ($1, 'CLV', 10, NULL, ${ago(10)}), ($2, 'CLV', 90, NULL, ${ago(90)}),
         ($3, 'CLV', 100, NULL, ${ago(100)}), ($3, 'CLV', 60, NULL, ${ago(60)})`,
      [a, b, c],
    );
    await app.sql(
      `INSERT INTO scores (customer_id, kind, value, label, model_version, computed_at, changed_at) VALUES
         ($1, 'CLV', 5, NULL, 1, now(), ${ago(5)}), ($2, 'CLV', 50, NULL, 1, now(), ${ago(50)})`,
      [a, b],
    );
    const left = async () =>
      app.sql<{ id: string; value: number }>(
        `SELECT customer_id::text AS id, value FROM score_history WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV' ORDER BY customer_id, recorded_at DESC`,
        [[a, b, c]],
      );
    expect(await app.runtime.services.scores.pruneHistory(30, 4)).toBe(4);
    // a keeps 10 and 40 (in force 30 days ago); b's current value was in force already; c keeps its last value.
    expect(await left()).toEqual(
      [
        { id: a, value: 10 },
        { id: a, value: 40 },
        { id: c, value: 60 },
      ].sort((x, y) => Number(x.id) - Number(y.id)),
    );
    const points = (await app.graphql(CustomerScoresDocument, { id: globalId('Customer', a), kind: 'CLV', historyFirst: 10 })).data!.customer!.score!.history;
    expect(points.map((p) => p.value)).toEqual([5, 10, 40]);
    expect(await app.runtime.services.scores.pruneHistory(30, 4)).toBe(0);
    expect(await app.sql(`SELECT value FROM scores WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV' ORDER BY value`, [[a, b]])).toEqual([
      { value: 5 },
      { value: 50 },
    ]);
    await app.sql(`DELETE FROM scores WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV'`, [[a, b, c]]);
    await app.sql(`DELETE FROM score_history WHERE customer_id = ANY($1::bigint[]) AND kind = 'CLV'`, [[a, b, c]]);
  });

  test('an erasure waits for a score write in flight and removes what it wrote: no score outlives its customer', async () => {
    const id = await customerId(app, CUSTOMERS[1]!.email);
    const writer = app.dataSource.createQueryRunner();
    await writer.connect();
    await writer.startTransaction();
    await app.sql(`DELETE FROM scores WHERE customer_id = $1`, [id]);
    // Rescored in a transaction still open: a new score row and history point the erasure cannot see yet.
    await app.runtime.services.scores.scoreCustomers(writer.manager, [id], ['RFM']);
    const erased = app.runtime.services.privacy.eraseCustomer(id);
    await eventually(async () => {
      const [w] = await app.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return w!.n > 0 ? true : undefined;
    });
    await writer.commitTransaction();
    await writer.release();
    await erased;
    const [left] = await app.sql<{ scores: number; history: number }>(
      `SELECT (SELECT count(*)::int FROM scores WHERE customer_id = $1) AS scores, (SELECT count(*)::int FROM score_history WHERE customer_id = $1) AS history`,
      [id],
    );
    expect(left).toEqual({ scores: 0, history: 0 });
    // A write that starts after the erasure finds no customer to score.
    await app.dataSource.transaction((manager) => app.runtime.services.scores.scoreCustomers(manager, [id], ['RFM']));
    const [after] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE customer_id = $1`, [id]);
    expect(after!.n).toBe(0);
  });

  test('engagement decays with the half-life, weighs channels and types, and is scaled 0–100', async () => {
    const now = Date.now();
    const touch = (email: string, daysAgo: number, channel: string, type: string, externalId: string): InteractionInput => ({
      customer: { identifiers: [{ type: 'email', value: email }] },
      channel,
      type,
      occurredAt: new Date(now - daysAgo * DAY_MS).toISOString(),
      source: 'engagement-test',
      externalId,
    });
    await ingest(app, [
      touch('fresh@example.com', 0, 'email', 'open', 'e1'),
      touch('month-old@example.com', 30, 'email', 'open', 'e2'),
      touch('two-months@example.com', 60, 'email', 'open', 'e3'),
      touch('mixed@example.com', 0, 'email', 'open', 'e4'),
      touch('mixed@example.com', 0, 'web', 'click', 'e5'),
    ]);
    await app.runtime.services.scores.recompute(['ENGAGEMENT']);
    const engagement = async (email: string) => {
      const { data } = await app.graphql(CustomerScoresDocument, { id: globalId('Customer', await customerId(app, email)), kind: 'ENGAGEMENT' });
      return data!.customer!.score!;
    };
    const raw = async (email: string) => ((await engagement(email)).components as { raw: number }).raw;
    // Defaults: half-life 30 days, open weighs 1, click 2; the RFM customers' purchases weigh 5 each.
    expect(await raw('fresh@example.com')).toBeCloseTo(1, 4);
    expect(await raw('month-old@example.com')).toBeCloseTo(0.5, 4);
    expect(await raw('two-months@example.com')).toBeCloseTo(0.25, 4);
    expect(await raw('mixed@example.com')).toBeCloseTo(3, 4);

    const { data } = await app.graphql(ScoreModelsDocument, {});
    const { scale } = data!.scoreModels.find((s) => s.kind === 'ENGAGEMENT')!.parameters as { scale: number };
    const mixed = await engagement('mixed@example.com');
    expect(mixed.value).toBeCloseTo(Math.min(100, (100 * 3) / scale), 1);
    const byChannel = (mixed.components as { byChannel: Record<string, number> }).byChannel;
    expect(byChannel.email / byChannel.web).toBeCloseTo(0.5, 3);
    expect((await engagement('month-old@example.com')).value).toBeCloseTo((100 * 0.5) / scale, 1);
    const [{ max, min }] = await app.sql<{ max: number; min: number }>(`SELECT max(value) AS max, min(value) AS min FROM scores WHERE kind = 'ENGAGEMENT'`);
    expect(max).toBe(100);
    expect(min).toBeGreaterThan(0);

    // Doubling the email weight doubles the email contribution.
    await app.graphql(UpdateScoreModelDocument, { kind: 'ENGAGEMENT', settings: { channelWeights: { email: 2 } } });
    await app.runtime.services.scores.recompute(['ENGAGEMENT']);
    expect(await raw('mixed@example.com')).toBeCloseTo(4, 4);
  });

  test('a full recompute (scored from the features its fits kept) and a refresh (from the interactions) give the same scores', async () => {
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM', 'ENGAGEMENT']);
    type Row = {
      id: string;
      kind: string;
      value: number;
      label: string | null;
      stored: Record<string, unknown> | null;
      values: number[];
      keys: string[] | null;
    };
    const read = async () =>
      (
        await app.sql<Row>(
          `SELECT customer_id::text AS id, kind, value, label, components AS stored, component_values AS values, component_keys AS keys
         FROM scores WHERE kind IN ('RFM', 'ENGAGEMENT') ORDER BY 1, 2`,
        )
      ).map(({ stored, values, keys, ...row }) => ({ ...row, components: componentsOf(row.kind, stored, values, keys) }));
    const recomputed = await read();
    // Written as the kinds' figures (components is only ever the object of a score written before they were).
    expect(await app.sql(`SELECT 1 FROM scores WHERE components IS NOT NULL OR cardinality(component_values) = 0`)).toEqual([]);
    expect(recomputed.filter((r) => r.kind === 'RFM').length).toBeGreaterThan(4);
    expect(recomputed.filter((r) => r.kind === 'ENGAGEMENT').length).toBeGreaterThan(4);
    const ids = await app.sql<{ id: string }>(`SELECT id::text AS id FROM customers`);
    await app.dataSource.transaction((manager) =>
      scores.scoreCustomers(
        manager,
        ids.map((r) => r.id),
        ['RFM', 'ENGAGEMENT'],
      ),
    );
    const refreshed = await read();
    expect(refreshed.map((r) => [r.id, r.kind, r.label])).toEqual(recomputed.map((r) => [r.id, r.kind, r.label]));
    for (const [i, row] of refreshed.entries()) {
      const was = recomputed[i]!;
      if (row.kind === 'RFM') {
        // Recency (days since the last purchase) moves with the clock; the quintiles and the rest do not.
        const { recency: _recency, ...rest } = row.components;
        const { recency: _was, ...restWas } = was.components;
        expect({ value: row.value, ...rest }).toEqual({ value: was.value, ...restWas });
      } else {
        // Seconds of decay between the two: equal to the hundredth of a point they are rounded to.
        expect(Math.abs(row.value - was.value)).toBeLessThanOrEqual(0.01);
        const byChannel = (row.components as { byChannel: Record<string, number> }).byChannel;
        const wasByChannel = (was.components as { byChannel: Record<string, number> }).byChannel;
        expect(Object.keys(byChannel).sort()).toEqual(Object.keys(wasByChannel).sort());
        for (const channel of Object.keys(byChannel)) expect(byChannel[channel]).toBeCloseTo(wasByChannel[channel]!, 3);
      }
    }
  });

  test('updateScoreModel validates settings and names the setting at fault', async () => {
    const cases: [string, unknown, string][] = [
      ['RFM', { lookbackDays: -5 }, 'settings.lookbackDays'],
      ['RFM', { transactionTypes: [] }, 'settings.transactionTypes'],
      ['ENGAGEMENT', { halfLife: 3 }, 'settings.halfLife'],
      ['ENGAGEMENT', { typeWeights: { open: 'high' } }, 'settings.typeWeights.open'],
      ['CLV', { asOf: '30/09/1997' }, 'settings.asOf'],
      ['CLV', { discountRatePerMonth: 2 }, 'settings.discountRatePerMonth'],
      ['CHURN_RISK', { threshold: 0.5 }, 'settings.threshold'],
      ['CLV', [1, 2], 'settings'],
    ];
    for (const [kind, settings, field] of cases) {
      const { data, errors } = await app.graphql(UpdateScoreModelDocument, { kind: kind as 'RFM', settings });
      expect(data).toBeNull();
      expect(errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field });
      expect(errors![0].message).toContain(field);
    }
    const ok = await app.graphql(UpdateScoreModelDocument, { kind: 'RFM', settings: { lookbackDays: 180 } });
    expect(ok.data!.updateScoreModel.settings).toEqual({ transactionTypes: ['purchase', 'order'], lookbackDays: 180 });
    const reset = await app.graphql(UpdateScoreModelDocument, { kind: 'RFM', settings: { lookbackDays: null } });
    expect(reset.data!.updateScoreModel.settings).toEqual({ transactionTypes: ['purchase', 'order'], lookbackDays: 365 });
  });

  test('recomputeScores coalesces identical requests into one queued job; different work gets its own', async () => {
    const [a, b] = await Promise.all([
      app.graphql(RecomputeScoresDocument, { kinds: ['ENGAGEMENT'] }),
      app.graphql(RecomputeScoresDocument, { kinds: ['ENGAGEMENT'] }),
    ]);
    expect(a.errors).toBeUndefined();
    expect(a.data!.recomputeScores).toMatchObject({ status: 'QUEUED', progress: 0, kinds: ['ENGAGEMENT'], finishedAt: null, error: null });
    expect(b.data!.recomputeScores.id).toBe(a.data!.recomputeScores.id);
    const again = await app.graphql(RecomputeScoresDocument, { kinds: ['ENGAGEMENT'] });
    expect(again.data!.recomputeScores.id).toBe(a.data!.recomputeScores.id);

    const clv = await app.graphql(RecomputeScoresDocument, { kinds: ['CHURN_RISK'] });
    expect(clv.data!.recomputeScores.kinds).toEqual(['CLV', 'CHURN_RISK']);
    expect(clv.data!.recomputeScores.id).not.toBe(a.data!.recomputeScores.id);
    const polled = await app.graphql(RecomputeJobDocument, { id: clv.data!.recomputeScores.id });
    expect(polled.data!.recomputeJob).toMatchObject({ status: 'QUEUED', kinds: ['CLV', 'CHURN_RISK'] });
    expect((await app.graphql(RecomputeJobDocument, { id: '999999' })).data!.recomputeJob).toBeNull();
  });
  test('a full recompute scores every kind that fits, batch by batch, while a kind whose fit fails is reported and left as it was', async () => {
    // This handful of customers cannot identify BG/NBD: CLV (and CHURN_RISK, which uses its model) fail; RFM and ENGAGEMENT are scored.
    const steps: number[] = [];
    const outcome = await app.runtime.services.scores.recompute(['RFM', 'ENGAGEMENT', 'CLV', 'CHURN_RISK'], {
      batchSize: 5,
      onProgress: (percent) => void steps.push(percent),
    });
    expect(outcome.errors.map((e) => e.kind)).toEqual(['CLV', 'CHURN_RISK']);
    expect(outcome.kinds.map((k) => k.kind)).toEqual(['RFM', 'ENGAGEMENT']);
    expect(outcome.kinds.every((k) => k.scored > 0)).toBe(true);
    const batches = await batchesOf(app, 5);
    // Progress: 4 fits, one step per batch (a transaction scoring every kind that fitted), then the swap.
    expect(steps).toHaveLength(4 + batches + 1);
    expect(steps.at(-1)).toBe(100);
    const written = await app.sql<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM scores GROUP BY kind ORDER BY kind`);
    expect(written).toEqual([
      { kind: 'ENGAGEMENT', n: outcome.kinds[1]!.scored },
      { kind: 'RFM', n: outcome.kinds[0]!.scored },
    ]);
  });
});

describe.each(['postgres', 'redis'] as const)('scores with workers on the %s queue backend', (backend) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ workers: true, queue: backend, env: { RAPPORT_SCORE_HISTORY_DAYS: '30' } });
    await ingest(app, rfmInteractions());
  });
  afterAll(() => app.close());

  test('recomputeScores runs as a job whose status and progress can be polled to completion; it prunes history past RAPPORT_SCORE_HISTORY_DAYS', async () => {
    // Values an RFM score had since 100 and 60 days ago: the second was still in force 30 days ago.
    const customer = await customerId(app, CUSTOMERS[2]!.email);
    await app.sql(
      `INSERT INTO score_history (customer_id, kind, value, label, recorded_at)
       VALUES ($1, 'RFM', 1, 'Lost', now() - interval '100 days'), ($1, 'RFM', 2, 'Hibernating', now() - interval '60 days')`,
      [customer],
    );
    const { data } = await app.graphql(RecomputeScoresDocument, { kinds: ['RFM', 'ENGAGEMENT'] });
    const id = data!.recomputeScores.id;
    const done = await eventually(
      async () => {
        const job = (await app.graphql(RecomputeJobDocument, { id })).data!.recomputeJob!;
        return job.status === 'COMPLETED' || job.status === 'FAILED' ? job : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(done).toMatchObject({ status: 'COMPLETED', progress: 100, kinds: ['RFM', 'ENGAGEMENT'], error: null });
    expect(done.finishedAt).not.toBeNull();
    // The first fit of a fresh database is not taken for a settings change: one request, one run, one fit each.
    expect(await app.sql(`SELECT kind, version FROM score_models WHERE kind IN ('RFM', 'ENGAGEMENT') ORDER BY kind`)).toEqual([
      { kind: 'ENGAGEMENT', version: 1 },
      { kind: 'RFM', version: 1 },
    ]);
    const [{ n }] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE kind = 'RFM'`);
    expect(n).toBe(12);
    expect(await app.sql(`SELECT value FROM score_history WHERE customer_id = $1 AND kind = 'RFM'`, [customer])).toEqual([{ value: 2 }]);
  });

  test('a CLV recompute on data that cannot identify the model fails with a clear error and leaves the models unfitted', async () => {
    const { data } = await app.graphql(RecomputeScoresDocument, { kinds: ['CLV'] });
    const job = await eventually(
      async () => {
        const polled = (await app.graphql(RecomputeJobDocument, { id: data!.recomputeScores.id })).data!.recomputeJob!;
        return polled.status === 'FAILED' ? polled : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(job.error).toMatch(/^CLV: BG\/NBD fit diverged .*; CHURN_RISK: the CLV model that CHURN_RISK uses has not been fitted/);
    const models = (await app.graphql(ScoreModelsDocument, {})).data!.scoreModels;
    expect(models.find((m) => m.kind === 'CLV')!.fittedAt).toBeNull();
  });

  test('an ingested interaction shows in that customer’s scores shortly after, with the current model (no refit)', async () => {
    await eventually(async () => {
      const [row] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM scores WHERE kind = 'RFM'`);
      return row.n === 12 ? true : undefined;
    });
    const worst = CUSTOMERS.reduce((a, b) => (a.monetary < b.monetary ? a : b));
    const id = await customerId(app, worst.email);
    const read = async () => (await app.graphql(CustomerScoresDocument, { id: globalId('Customer', id), kind: 'RFM' })).data!.customer!.score!;
    const before = await read();
    await ingest(app, [
      {
        customer: { identifiers: [{ type: 'email', value: worst.email }] },
        channel: 'payment',
        type: 'purchase',
        occurredAt: new Date(Date.now() - 1000).toISOString(),
        value: 100_000,
        source: 'fresh-test',
        externalId: 'fresh-1',
      },
    ]);
    const after = await eventually(
      async () => {
        const score = await read();
        return (score.components as { frequency: number }).frequency === worst.frequency + 1 ? score : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(after.modelVersion).toBe(before.modelVersion);
    expect((after.components as { m: number; r: number }).m).toBe(5);
    expect((after.components as { r: number }).r).toBe(5);
    expect(Date.parse(after.computedAt)).toBeGreaterThan(Date.parse(before.computedAt));
    const engagement = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM scores WHERE customer_id = $1 AND kind = 'ENGAGEMENT' AND computed_at >= $2::timestamptz`,
      [id, after.computedAt],
    );
    expect(engagement[0].n).toBe(1);

    // Its history: the new value, then the one it replaced, each as of when it became current.
    const point = (s: { value: number; label?: string | null; changedAt: string }) => ({ value: s.value, label: s.label, recordedAt: s.changedAt });
    const history = async (first: number) =>
      (await app.graphql(CustomerScoresDocument, { id: globalId('Customer', id), kind: 'RFM', historyFirst: first })).data!.customer!.score!.history.map(
        (p) => ({ value: p.value, label: p.label, recordedAt: p.recordedAt }),
      );
    expect(Date.parse(after.changedAt)).toBeGreaterThan(Date.parse(before.changedAt));
    expect((await history(5)).slice(0, 2)).toEqual([point(after), point(before)]);
    expect(await history(1)).toEqual([point(after)]);
    expect(await history(0)).toEqual([]);
  });

  test('the nightly scores.recompute job scheduler is registered', async () => {
    const schedulers = await app.runtime.services.queues.queue(QUEUES.analytics).getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.name, s.pattern])).toContainEqual(['scores.recompute.nightly', 'scores.recompute', '0 3 * * *']);
  });
});

/**
 * bench/scores: a full recompute of all four score kinds (fit + score every
 * customer) beside the floor — the bare SQL aggregation over the same
 * interactions in the same run — with the process's peak memory, then the
 * ingest-to-fresh-score latency of single interactions while workers run.
 * Prints figures; never fails on time.
 *
 * The seeded interactions are then stored in time order (untimed CLUSTER), as
 * ingest writes them in production: a customer's interactions lie across the
 * whole table, not side by side as seeding writes them.
 *
 * Seeding runs in a child process, so the memory printed is that of the
 * process doing the recompute (sampled every 20 ms while it runs). `--runs 2`
 * (the default) also times a second recompute over the scores of the first:
 * the first inserts every score (and no history: nothing is superseded), the
 * second (the nightly case) replaces them and adds history only for what
 * changed. Before the second, untimed, `scores` is vacuumed and a checkpoint
 * taken, as the day between two nightly runs would have done.
 *
 * Then CHURN_PROPENSITY, trained on the seeded base (`--churn 0` skips it):
 * population every person, outcome "no interaction in the last 90 days"
 * (labelWindowDays 90, so features are as of 90 days ago), features the
 * seeded traits, the stats and two behaviour aggregates; its fit (training
 * and cross-validation) and scoring of every customer are timed with the
 * worker's peak RSS, beside the same floor.
 *
 *   npm run bench:scores -- --customers 1000000 --interactions 10000000 --samples 50
 */
import { spawnSync } from 'node:child_process';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { seedDemoData } from '../src/seed/demo-data';
import { benchCluster, fmt, intFlags, mib, percentile, runBench } from './harness';

async function main() {
  const seedUrl = process.env.RAPPORT_BENCH_SEED_URL;
  if (seedUrl) {
    // Child process: seed only.
    const { customers, interactions, seed } = JSON.parse(process.env.RAPPORT_BENCH_SEED_SCALE!);
    const seeded = await seedDemoData(seedUrl, { customers, interactions, seed });
    console.log(`  seeded in ${fmt(seeded.seconds, 1)} s (child process)`);
    return;
  }
  const scale = intFlags({ customers: 20_000, interactions: 200_000, samples: 30, seed: 1, runs: 2, churn: 1 }, ['churn']);
  console.log(`bench/scores: ${fmt(scale.customers)} customers, ${fmt(scale.interactions)} interactions`);
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_scores');
    (await openDatabase(url, 'bench-migrate')).destroy();
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
      stdio: 'inherit',
      env: { ...process.env, RAPPORT_BENCH_SEED_URL: url, RAPPORT_BENCH_SEED_SCALE: JSON.stringify(scale) },
    });
    if (child.status !== 0) throw new Error(`seeding failed (exit ${child.status ?? child.signal})`);
    const analyze = await openDatabase(url, 'bench-analyze');
    // Seeding writes each customer's interactions together; ingest writes them as they arrive. Stored in time
    // order, a customer's interactions are spread over the whole table, as in production (untimed).
    let t = performance.now();
    await analyze.query(`SET maintenance_work_mem = '1GB'`);
    await analyze.query('CLUSTER interactions USING interactions_occurred_at_idx');
    await analyze.query('VACUUM ANALYZE').catch(() => undefined);
    await analyze.destroy();
    console.log(`  interactions stored in arrival (time) order, as ingest writes them (CLUSTER, untimed: ${fmt((performance.now() - t) / 1000, 1)} s)`);

    const dataSource = await openDatabase(url, 'bench-scores');
    const config = loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url });
    const logger = createLogger('warn');
    const runtime = await startRapport({
      config,
      logger,
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: false },
    });
    const scores = runtime.services.scores;

    // The floor: what every kind aggregates, once, in bare SQL, reading the table in storage order. (The planner
    // would take the (customer_id, occurred_at) index, which visits the pages of a table stored in time order
    // over and over: a slower floor that would flatter every ratio.)
    t = performance.now();
    await dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off`);
      await manager.query(
        `SELECT customer_id, count(*), max(occurred_at), sum(value), count(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date)
           FROM interactions GROUP BY customer_id`,
      );
    });
    const floor = (performance.now() - t) / 1000;
    console.log('');
    console.log(`  floor: bare aggregation   ${fmt(floor, 2)} s`);

    for (let run = 1; run <= scale.runs; run++) {
      if (run > 1) {
        // Untimed: what the day between two nightly runs does in the background. Back to back, autovacuum would
        // work through the table the previous run swapped in (and the checkpointer through its writes) during this run.
        await dataSource.query(`VACUUM (ANALYZE) scores, score_history`);
        await dataSource.query(`CHECKPOINT`).catch(() => undefined);
      }
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      t = performance.now();
      const outcome = await scores.recompute(['RFM', 'ENGAGEMENT', 'CLV', 'CHURN_RISK']);
      const full = (performance.now() - t) / 1000;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const [{ history }] = await dataSource.query(`SELECT count(*)::int AS history FROM score_history`);
      console.log(
        `  full recompute #${run}, 4 kinds ${fmt(full, 2)} s = ${fmt(full / floor, 2)}× floor   (${run === 1 ? 'first: every score new' : 'rerun: every score replaced, after an untimed VACUUM and CHECKPOINT'}; ${fmt(history)} history rows in all)`,
      );
      // Fits run concurrently and batches two at a time, so these per-kind seconds overlap (score seconds add up the lanes).
      console.log(
        `      ${outcome.kinds.map((k) => `${k.kind} ${fmt(k.scored)}: fit ${fmt(k.fitSeconds, 2)} s, score ${fmt(k.scoreSeconds, 2)} s`).join('; ')} (overlapping)`,
      );
      if (outcome.errors.length) console.log(`      errors: ${outcome.errors.map((e) => e.message).join('; ')}`);
      console.log(`      worker peak RSS during the recompute ${mib(peak)} (${mib(before)} before it)`);
    }
    if (scale.churn) await churnPropensity(scores, floor);
    await runtime.stop();

    // Freshness: single interactions with workers running, until the customer's score is rewritten.
    const worker = await startRapport({
      config,
      logger,
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: true },
    });
    const latencies: number[] = [];
    const ids: { id: string }[] = await dataSource.query(`SELECT customer_id::text AS id FROM scores WHERE kind = 'RFM' ORDER BY random() LIMIT $1`, [
      scale.samples,
    ]);
    for (const [n, { id }] of ids.entries()) {
      const started = performance.now();
      await worker.services.ingest.recordInteractions([
        {
          customer: { id },
          channel: 'payment',
          type: 'purchase',
          occurredAt: new Date(Date.now() - 1000),
          value: 42,
          source: 'bench-scores',
          externalId: `fresh-${n}`,
        },
      ]);
      for (;;) {
        const [row] = await dataSource.query(
          `SELECT 1 FROM scores WHERE customer_id = $1 AND kind = 'RFM' AND computed_at >= (SELECT max(created_at) FROM interactions WHERE customer_id = $1 AND source = 'bench-scores')`,
          [id],
        );
        if (row) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      latencies.push(performance.now() - started);
    }
    await worker.stop();
    await dataSource.destroy();
    latencies.sort((a, b) => a - b);
    console.log(
      `  ingest → fresh score      p50 ${fmt(percentile(latencies, 50))} ms   p95 ${fmt(percentile(latencies, 95))} ms   (${latencies.length} single interactions; includes the refresh's 200 ms gathering window)`,
    );
  } finally {
    await cluster.close();
  }
}

/** CHURN_PROPENSITY on the seeded base: fit (training, cross-validation) and scoring of everyone, with the peak RSS. */
async function churnPropensity(scores: Awaited<ReturnType<typeof startRapport>>['services']['scores'], floor: number) {
  await scores.updateModel(
    'CHURN_PROPENSITY',
    {
      population: { attribute: { field: 'kind', op: 'EQ', value: 'PERSON' } },
      outcome: { not: { behavior: { lastDays: 90, op: 'GTE', value: 1 } } },
      labelWindowDays: 90,
      features: {
        traits: ['age', 'city', 'industry', 'riskLevel', 'plan'],
        stats: true,
        behavior: [
          { name: 'purchases in 90 days', type: 'purchase', lastDays: 90 },
          { name: 'interactions in 30 days', lastDays: 30 },
        ],
      },
    },
    { piiRead: true },
  );
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t = performance.now();
  const outcome = await scores.recompute(['CHURN_PROPENSITY']);
  const total = (performance.now() - t) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const [kind] = outcome.kinds;
  if (outcome.errors.length || !kind) {
    console.log(`  CHURN_PROPENSITY failed: ${outcome.errors.map((e) => e.message).join('; ')}`);
    return;
  }
  const model = (await scores.listModels()).find((m) => m.kind === 'CHURN_PROPENSITY');
  const d = model?.diagnostics as { trainingSize: number; crossValidation: { customers: number; rocAuc: number; lambda: number } };
  console.log(
    `  CHURN_PROPENSITY recompute ${fmt(total, 2)} s = ${fmt(total / floor, 2)}× floor: fit ${fmt(kind.fitSeconds, 2)} s (${fmt(d.trainingSize)} training customers, CV on ${fmt(d.crossValidation.customers)}), score ${fmt(kind.scoreSeconds, 2)} s (${fmt(kind.scored)} customers)`,
  );
  console.log(`      CV ROC AUC ${fmt(d.crossValidation.rocAuc, 3)} at λ ${d.crossValidation.lambda}; worker peak RSS ${mib(peak)} (${mib(before)} before it)`);
}

runBench(main);

/**
 * bench/recommendations: offline quality and the cost of a full recompute.
 *
 * 1. Seeds customers whose purchases and page views follow the planted
 *    structure of `rapport seed --products` (product families, customer
 *    tastes that drift, organisations sharing a taste).
 * 2. Holds out each customer's last product interaction by time, fits every
 *    candidate on the rest, ranks the products each customer has not had and
 *    reports HR@10 and NDCG@10 beside the two baselines fitted in the same
 *    run: popularity and plain item-kNN (binary cosine, no shrinkage).
 * 3. Times `recomputeRecommendations`' work (read, fit, score every customer,
 *    write, swap) on the whole data with the default settings, with the
 *    peak RSS and the CPU time of the process doing it and of Postgres,
 *    beside the floor: the bare SQL aggregation the fit reads.
 * 4. Ingest → fresh recommendation latency of single purchases while workers run.
 *
 * Prints figures; never fails on time.
 *
 *   npm run bench:recommendations -- --customers 1000000 --interactions 10000000 --products 10000
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { openPooledSession } from '../src/infra/database';
import { createLogger } from '../src/infra/logger';
import { easeNeighbours } from '../src/modules/recommendations/model/ease';
import { readHoldout } from '../src/modules/recommendations/model/holdout';
import { cosineNeighbours, popularityOrder, rp3betaNeighbours, type Neighbours } from '../src/modules/recommendations/model/neighbours';
import { leaveLastOut, popularityRanker, Scorer, type RankingQuality } from '../src/modules/recommendations/model/score';
import { DEFAULT_SETTINGS } from '../src/modules/recommendations/settings';
import { literal } from '../src/modules/recommendations/recommendation-sql';
import { seedDemoData } from '../src/seed/demo-data';
import { benchCluster, fmt, intFlags, mib, percentile, runBench } from './harness';

/** What the bench counts as taking a product: purchases, and page views at a quarter of their weight. */
const BENCH_SETTINGS = { interactionTypes: { purchase: 1, page_view: 0.25 }, halfLifeDays: 180 };

async function main() {
  const seedUrl = process.env.RAPPORT_BENCH_SEED_URL;
  if (seedUrl) {
    const { customers, interactions, seed, products } = JSON.parse(process.env.RAPPORT_BENCH_SEED_SCALE!);
    const seeded = await seedDemoData(seedUrl, { customers, interactions, seed, products, until: new Date('2026-06-30T00:00:00Z') });
    console.log(`  seeded in ${fmt(seeded.seconds, 1)} s (child process)`);
    return;
  }
  const scale = intFlags({ customers: 20_000, interactions: 400_000, products: 500, seed: 1, samples: 10, easeMax: 2_000 }, ['samples']);
  console.log(`bench/recommendations: ${fmt(scale.customers)} customers, ${fmt(scale.interactions)} interactions, ${fmt(scale.products)} products`);
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_recommendations');
    (await openDatabase(url, 'bench-migrate')).destroy();
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
      stdio: 'inherit',
      env: { ...process.env, RAPPORT_BENCH_SEED_URL: url, RAPPORT_BENCH_SEED_SCALE: JSON.stringify(scale) },
    });
    if (child.status !== 0) throw new Error(`seeding failed (exit ${child.status ?? child.signal})`);
    const dataSource = await openDatabase(url, 'bench-recommendations');
    await dataSource.query('CLUSTER interactions USING interactions_occurred_at_idx');
    await dataSource.query('VACUUM ANALYZE interactions');

    // 2. Offline quality.
    const settings = { ...DEFAULT_SETTINGS, ...BENCH_SETTINGS };
    const types = Object.keys(settings.interactionTypes);
    const asOf = literal('2026-06-30T00:00:00Z', 'timestamptz');
    const session = await openPooledSession(dataSource);
    let t = performance.now();
    const split = await readHoldout(
      session.client,
      `SELECT i.customer_id, i.properties->>'product', w.weight * power(0.5::float8, extract(epoch FROM (${asOf} - i.occurred_at))::float8 / 86400.0 / ${settings.halfLifeDays})
         FROM interactions i JOIN unnest(${literal(types, 'text[]')}, ${literal(
           types.map((k) => settings.interactionTypes[k as keyof typeof settings.interactionTypes]),
           'float8[]',
         )}) AS w(type, weight) ON w.type = i.type
        WHERE i.properties ? 'product' ORDER BY i.customer_id, i.occurred_at, i.id`,
    );
    await session.release();
    const evaluated = split.heldOut.filter((h) => h >= 0).length;
    console.log(
      `\n  leave-last-out: ${fmt(split.train.items.length)} training pairs, ${fmt(split.train.columns)} products; ${fmt(evaluated)} customers evaluated ` +
        `(${fmt(split.repeats)} whose last product was a repeat, and those with one product interaction, are not) — read in ${fmt((performance.now() - t) / 1000, 1)} s`,
    );
    const rows: { name: string; quality: RankingQuality; seconds: number }[] = [];
    const measure = (name: string, fit: () => Neighbours | 'popularity') => {
      t = performance.now();
      const model = fit();
      const fitSeconds = (performance.now() - t) / 1000;
      const ranker =
        model === 'popularity'
          ? popularityRanker(split.train, popularityOrder(split.train))
          : (
              (scorer) => (row: number, top: Parameters<Scorer['score']>[2]) =>
                scorer.score(split.train, row, top)
            )(new Scorer(model, true));
      rows.push({ name, quality: leaveLastOut(split.train.rows, split.heldOut, 10, ranker), seconds: fitSeconds });
    };
    const k = settings.neighbours;
    measure('popularity (baseline)', () => 'popularity');
    measure(`item-kNN cosine, binary, K=${k} (baseline)`, () => cosineNeighbours(split.train, { neighbours: k, shrink: 0, binary: true }));
    measure(`cosine, weighted, shrink ${settings.shrink}, K=${k}`, () => cosineNeighbours(split.train, { neighbours: k, shrink: settings.shrink }));
    for (const beta of [0, 0.3, 0.5]) measure(`RP3beta β=${beta}, K=${k}`, () => rp3betaNeighbours(split.train, { neighbours: k, beta }));
    if (split.train.columns <= scale.easeMax) {
      for (const lambda of [10, 50, 200]) {
        measure(`EASE λ=${lambda}, K=${k}`, () => easeNeighbours(split.train, { neighbours: k, lambda, maxProducts: scale.easeMax }));
      }
    } else console.log(`  EASE: skipped, ${fmt(split.train.columns)} products is more than --easeMax ${fmt(scale.easeMax)} (a dense n×n inverse)`);
    const popularity = rows[0].quality.hitRate;
    console.log(`\n  ${'model'.padEnd(44)} ${'HR@10'.padStart(7)} ${'NDCG@10'.padStart(8)} ${'× pop HR'.padStart(9)} ${'fit s'.padStart(7)}`);
    for (const r of rows) {
      console.log(
        `  ${r.name.padEnd(44)} ${fmt(r.quality.hitRate, 4).padStart(7)} ${fmt(r.quality.ndcg, 4).padStart(8)} ${fmt(r.quality.hitRate / popularity, 2).padStart(9)} ${fmt(r.seconds, 2).padStart(7)}`,
      );
    }
    console.log(`  default model: ${settings.algorithm} (see docs/recommendations.md)`);

    // 3. Full recompute with the service, and its floor.
    const config = loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url });
    const logger = createLogger('warn');
    const runtime = await startRapport({
      config,
      logger,
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: false },
    });
    const recommendations = runtime.services.recommendations;
    await recommendations.updateModel(BENCH_SETTINGS, { schedule: false });
    // CPU seconds of this process (the worker) and of the cluster: on a shared machine they move much less than wall time.
    const cpu = () => ({ worker: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, postgres: cluster.cpuSeconds() });
    let cpuBefore = cpu();
    t = performance.now();
    await dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off`);
      await manager.query(
        `SELECT customer_id, properties->>'product', sum(1) FROM interactions WHERE type = ANY(${literal(types, 'text[]')}) AND properties ? 'product' GROUP BY 1, 2`,
      );
    });
    const floor = (performance.now() - t) / 1000;
    const floorCpu = cpu();
    const floorPostgres = floorCpu.postgres - cpuBefore.postgres;
    const floorWorker = floorCpu.worker - cpuBefore.worker;
    console.log(
      `\n  floor: bare aggregation of (customer, product) pairs ${fmt(floor, 2)} s; CPU ${fmt(floorPostgres + floorWorker, 2)} s (Postgres ${fmt(floorPostgres, 2)}, this process reading the rows ${fmt(floorWorker, 2)})`,
    );
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    cpuBefore = cpu();
    t = performance.now();
    const outcome = await recommendations.recompute();
    const full = (performance.now() - t) / 1000;
    const fullCpu = cpu();
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`  full recompute ${fmt(full, 2)} s = ${fmt(full / floor, 2)}× floor; ${JSON.stringify(outcome.seconds)}`);
    const recomputePostgres = fullCpu.postgres - cpuBefore.postgres;
    const recomputeWorker = fullCpu.worker - cpuBefore.worker;
    console.log(
      `      CPU ${fmt(recomputePostgres + recomputeWorker, 2)} s = ${fmt((recomputePostgres + recomputeWorker) / (floorPostgres + floorWorker), 2)}× the floor's (Postgres ${fmt(recomputePostgres, 2)}, worker ${fmt(recomputeWorker, 2)})`,
    );
    console.log(
      `      load average ${os
        .loadavg()
        .map((l) => fmt(l, 2))
        .join(', ')}`,
    );
    console.log(`      ${fmt(outcome.customers)} customers scored, ${fmt(outcome.products)} products, ${fmt(outcome.pairs)} pairs`);
    console.log(`      worker peak RSS during the recompute ${mib(peak)} (${mib(before)} before it)`);
    await runtime.stop();

    // 4. Freshness.
    const worker = await startRapport({
      config,
      logger,
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: true },
    });
    const latencies: number[] = [];
    const ids: { id: string; product: string }[] = await dataSource.query(
      `SELECT customer_id::text AS id, products[1] AS product FROM customer_recommendations ORDER BY random() LIMIT $1`,
      [scale.samples],
    );
    for (const [n, { id, product }] of ids.entries()) {
      const started = performance.now();
      await worker.services.ingest.recordInteractions([
        {
          customer: { id },
          channel: 'payment',
          type: 'purchase',
          occurredAt: new Date(),
          value: 42,
          properties: { product },
          source: 'bench-recommendations',
          externalId: `fresh-${n}`,
        },
      ]);
      // Fresh once the purchased product has left the list (it is owned now).
      for (;;) {
        const [row] = await dataSource.query(`SELECT 1 FROM customer_recommendations WHERE customer_id = $1 AND NOT ($2 = ANY(products))`, [id, product]);
        if (row) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      latencies.push(performance.now() - started);
    }
    await worker.stop();
    await dataSource.destroy();
    latencies.sort((a, b) => a - b);
    if (latencies.length) {
      console.log(
        `  ingest → fresh recommendations p50 ${fmt(percentile(latencies, 50))} ms   p95 ${fmt(percentile(latencies, 95))} ms   (${latencies.length} single purchases; includes the refresh's 200 ms gathering window)`,
      );
    }
  } finally {
    await cluster.close();
  }
}

runBench(main);

/**
 * bench/segments: a full refresh of a three-condition segment (attribute,
 * 90-day purchase count, RFM label) beside the hand-written SQL count of the
 * same rule in the same run; previewSegment latency percentiles; and the
 * incremental re-evaluation of one customer against 50 dynamic segments (the
 * customer-refresh step). Prints figures; never fails on time.
 *
 *   npx tsx bench/segments.ts --customers 1000000 --interactions 10000000 --samples 50
 */
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import type { SegmentRule } from '../src/modules/segments/rules/rule';
import { seedDemoData } from '../src/seed/demo-data';
import { benchCluster, fmt, intFlags, percentile, runBench } from './harness';

const GOOD_RFM = ['Champions', 'Loyal', 'Potential Loyalist'];

const THREE_CONDITIONS: SegmentRule = {
  and: [
    { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } },
    { behavior: { type: 'purchase', lastDays: 90, aggregate: 'COUNT', op: 'GTE', value: 2 } },
    { score: { kind: 'RFM', labelIn: GOOD_RFM } },
  ],
};

/** 50 rules of the shapes people build: attributes, windows, sums, scores, negations. */
function fiftyRules(): SegmentRule[] {
  const industries = ['finance', 'retail', 'healthcare', 'technology', 'manufacturing', 'education', 'media', 'logistics'];
  const rules: SegmentRule[] = [];
  for (let i = 0; i < 50; i++) {
    const industry = industries[i % industries.length];
    switch (i % 5) {
      case 0:
        rules.push({
          and: [
            { attribute: { field: 'traits.industry', op: 'EQ', value: industry } },
            { behavior: { type: 'purchase', lastDays: 30 + i, op: 'GTE', value: 1 } },
          ],
        });
        break;
      case 1:
        rules.push({ behavior: { channel: 'email', type: 'open', lastDays: 14 + i, aggregate: 'DISTINCT_DAYS', op: 'GTE', value: 2 } });
        break;
      case 2:
        rules.push({ and: [{ score: { kind: 'RFM', labelIn: [GOOD_RFM[i % 3]] } }, { attribute: { field: 'lifecycleStage', op: 'EQ', value: 'customer' } }] });
        break;
      case 3:
        rules.push({
          and: [
            { behavior: { type: 'purchase', aggregate: 'SUM', lastDays: 365, op: 'GT', value: 100 + i } },
            { not: { behavior: { channel: 'support', lastDays: 30, op: 'GTE', value: 1 } } },
          ],
        });
        break;
      default:
        rules.push({
          or: [
            { attribute: { field: 'transactionCount', op: 'GTE', value: i % 7 } },
            { attribute: { field: 'traits.sizeTier', op: 'EQ', value: 'enterprise' } },
          ],
        });
    }
  }
  return rules;
}

async function main() {
  const scale = intFlags({ customers: 20_000, interactions: 200_000, samples: 30, seed: 1 });
  console.log(`bench/segments: ${fmt(scale.customers)} customers, ${fmt(scale.interactions)} interactions`);
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_segments');
    (await openDatabase(url, 'bench-migrate')).destroy();
    const seeded = await seedDemoData(url, { customers: scale.customers, interactions: scale.interactions, seed: scale.seed });
    console.log(`  seeded in ${fmt(seeded.seconds, 1)} s`);

    const dataSource = await openDatabase(url, 'bench-segments');
    const config = loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url });
    const logger = createLogger('warn');
    const runtime = await startRapport({
      config,
      logger,
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: false },
    });
    const { segments, scores } = runtime.services;
    let t = performance.now();
    await scores.recompute(['RFM']);
    console.log(`  RFM scores computed in ${fmt((performance.now() - t) / 1000, 1)} s (setup, not measured)`);
    await dataSource.query('ANALYZE');

    // The floor: the same rule written by hand.
    const handWritten = `
      WITH buyers AS (
        SELECT customer_id FROM interactions
         WHERE type = 'purchase' AND occurred_at >= now() - interval '90 days'
         GROUP BY customer_id HAVING count(*) >= 2)
      SELECT count(*)::int AS n
        FROM customers c JOIN buyers b ON b.customer_id = c.id
        JOIN scores s ON s.customer_id = c.id AND s.kind = 'RFM' AND s.label = ANY($1::text[])
       WHERE c.deleted_at IS NULL AND c.traits->>'industry' = 'finance'`;
    await dataSource.query(handWritten, [GOOD_RFM]);
    t = performance.now();
    const [{ n: handCount }] = await dataSource.query(handWritten, [GOOD_RFM]);
    const floor = (performance.now() - t) / 1000;

    const segment = await segments.create({ name: 'bench: finance, 2+ purchases in 90 days, good RFM', rule: THREE_CONDITIONS });
    t = performance.now();
    const first = await segments.memberships.refreshSegment(segment.id);
    const firstRefresh = (performance.now() - t) / 1000;
    t = performance.now();
    const again = await segments.memberships.refreshSegment(segment.id);
    const steadyRefresh = (performance.now() - t) / 1000;

    console.log('');
    console.log(`  hand-written SQL count          ${fmt(floor, 3)} s   (${fmt(handCount)} customers)`);
    console.log(
      `  full refresh, first (all enter) ${fmt(firstRefresh, 3)} s   (${fmt(first!.entered)} entered; ${fmt(firstRefresh / floor, 1)}× hand-written)`,
    );
    console.log(`  full refresh, no change         ${fmt(steadyRefresh, 3)} s   (size ${fmt(again!.size)}; ${fmt(steadyRefresh / floor, 1)}× hand-written)`);

    const previews: number[] = [];
    for (let i = 0; i < scale.samples; i++) {
      t = performance.now();
      await segments.preview(THREE_CONDITIONS);
      previews.push(performance.now() - t);
    }
    previews.sort((a, b) => a - b);
    console.log(
      `  previewSegment (same rule)      p50 ${fmt(percentile(previews, 50))} ms   p95 ${fmt(percentile(previews, 95))} ms   (${previews.length} runs)`,
    );

    const created = [];
    for (const [i, rule] of fiftyRules().entries()) created.push(await segments.create({ name: `bench rule ${i}`, rule }));
    for (const s of created) await segments.memberships.refreshSegment(s.id);
    const sample: { id: string }[] = await dataSource.query(`SELECT id::text FROM customers ORDER BY random() LIMIT $1`, [scale.samples]);
    const incremental: number[] = [];
    for (const { id } of sample) {
      t = performance.now();
      await dataSource.transaction((manager) => segments.memberships.refreshCustomers(manager, [id]));
      incremental.push(performance.now() - t);
    }
    incremental.sort((a, b) => a - b);
    console.log(
      `  one customer vs ${created.length + 1} segments     p50 ${fmt(percentile(incremental, 50), 1)} ms   p95 ${fmt(percentile(incremental, 95), 1)} ms   (${incremental.length} customers, the customer-refresh step alone)`,
    );
    await runtime.stop();
    await dataSource.destroy();
  } finally {
    await cluster.close();
  }
}

runBench(main);

import { openDatabase } from '../src/app';
import { SqlParams } from '../src/infra/sql-filter';
import { compileRule } from '../src/modules/segments/rules/compile';
import { benchCluster } from './harness';
import { seedDemoData } from '../src/seed/demo-data';
async function main() {
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('x');
    (await openDatabase(url, 'm')).destroy();
    await seedDemoData(url, { customers: 20000, interactions: 200000, seed: 1 });
    const ds = await openDatabase(url, 'e');
    await ds.query(`INSERT INTO scores (customer_id, kind, value, label, components, model_version) SELECT id, 'RFM', 1, (ARRAY['Champions','Loyal','Lost','At Risk'])[1 + id % 4], '{}', 1 FROM customers`);
    await ds.query('ANALYZE');
    const rule: any = { and: [
      { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } },
      { behavior: { type: 'purchase', lastDays: 90, aggregate: 'COUNT', op: 'GTE', value: 2 } },
      { score: { kind: 'RFM', labelIn: ['Champions', 'Loyal'] } } ] };
    const p = new SqlParams();
    const c = compileRule(rule, p);
    const plan = await ds.query('EXPLAIN ANALYZE ' + c.sql, p.values);
    console.log(plan.map((r: any) => r['QUERY PLAN']).join('\n'));
    const p2 = new SqlParams(); const ids = p2.add(['123']);
    const c2 = compileRule(rule, p2, { customerIdsParam: ids });
    const plan2 = await ds.query('EXPLAIN ANALYZE ' + c2.sql, p2.values);
    console.log(plan2.map((r: any) => r['QUERY PLAN']).join('\n'));
    await ds.destroy();
  } finally { await cluster.close(); }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });

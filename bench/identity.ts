/**
 * bench/identity: findDuplicates on seeded persons with planted duplicates
 * (typos in names, slipped birth dates, missing fields, moved addresses,
 * mistyped national ids). Prints the run's time and CPU (Postgres and Node,
 * per phase), the pairs compared, the pairs completeness of the blocking and
 * the pair precision and recall at matchScore against the planted truth, beside
 * a baseline measured in the same run: exact matching on (givenName,
 * familyName, birthDate) in one SQL self-join. Never fails on time.
 *
 *   npm run bench:identity -- --customers 1000000 --duplicates 200000
 */
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { benchCluster, fmt, intFlags, processCpuSeconds, runBench } from './harness';

/** A seeded generator, so two runs of one scale see the same data. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  'ka',
  'ri',
  'mo',
  'la',
  'ne',
  'to',
  'sa',
  'vi',
  'do',
  'ru',
  'bel',
  'mar',
  'tin',
  'son',
  'ley',
  'dra',
  'ch',
  'an',
  'el',
  'or',
  'is',
  'ton',
  'ber',
  'gan',
];

interface Person {
  entity: number;
  givenName?: string;
  familyName?: string;
  birthDate?: string;
  nationalId?: string;
  address: { streetNumber?: string; street?: string; locality?: string; postcode?: string; region?: string };
}

function world(random: () => number) {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  // Skewed choice: some names are common, most are rare.
  const skewed = <T>(list: readonly T[]) => list[Math.floor(random() ** 2 * list.length)];
  const word = (parts: number) => Array.from({ length: parts }, () => pick(SYLLABLES)).join('');
  const unique = (count: number, parts: number) => {
    const set = new Set<string>();
    while (set.size < count) set.add(word(parts + Math.floor(random() * 2)));
    return [...set];
  };
  const given = unique(3_000, 2);
  const family = unique(60_000, 3);
  const streets = unique(20_000, 3).map((s) => `${s} ${pick(['street', 'road', 'place', 'avenue', 'crescent'])}`);
  const localities = unique(5_000, 3);
  const regions = ['nsw', 'vic', 'qld', 'wa', 'sa', 'tas', 'act', 'nt'];
  const date = () => {
    const y = 1930 + Math.floor(random() * 75);
    const m = 1 + Math.floor(random() * 12);
    const d = 1 + Math.floor(random() * 28);
    return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  };
  const original = (entity: number): Person => ({
    entity,
    givenName: skewed(given),
    familyName: skewed(family),
    birthDate: date(),
    nationalId: random() < 0.9 ? String(1_000_000 + entity * 7 + Math.floor(random() * 7)) : undefined,
    address: {
      streetNumber: String(1 + Math.floor(random() ** 2 * 300)),
      street: pick(streets),
      locality: pick(localities),
      postcode: String(1000 + Math.floor(random() * 8999)),
      region: pick(regions),
    },
  });
  const typo = (value: string | undefined) => {
    if (!value || value.length < 3) return value;
    const at = 1 + Math.floor(random() * (value.length - 2));
    const letter = pick('abcdefghijklmnopqrstuvwxyz'.split(''));
    switch (Math.floor(random() * 4)) {
      case 0:
        return value.slice(0, at) + letter + value.slice(at + 1);
      case 1:
        return value.slice(0, at) + letter + value.slice(at);
      case 2:
        return value.slice(0, at) + value.slice(at + 1);
      default:
        return value.slice(0, at) + value[at + 1] + value[at] + value.slice(at + 2);
    }
  };
  const corrupt = (source: Person): Person => {
    const copy: Person = { ...source, address: { ...source.address } };
    const slips = 1 + Math.floor(random() * 3);
    for (let i = 0; i < slips; i++) {
      switch (Math.floor(random() * 7)) {
        case 0:
          copy.givenName = typo(copy.givenName);
          break;
        case 1:
          copy.familyName = typo(copy.familyName);
          break;
        case 2: {
          const [y, m, d] = (copy.birthDate ?? '2000-01-01').split('-');
          copy.birthDate = Number(d) <= 12 && random() < 0.5 ? `${y}-${d}-${m}` : `${y}-${m}-${d[1]}${d[0]}`;
          break;
        }
        case 3:
          copy.address = {
            streetNumber: String(1 + Math.floor(random() * 300)),
            street: pick(streets),
            locality: pick(localities),
            postcode: String(1000 + Math.floor(random() * 8999)),
            region: copy.address.region,
          };
          break;
        case 4:
          copy.nationalId = random() < 0.5 ? undefined : typo(copy.nationalId);
          break;
        case 5:
          copy.address.street = typo(copy.address.street);
          break;
        default:
          if (random() < 0.5) copy.givenName = undefined;
          else copy.address.postcode = undefined;
      }
    }
    return copy;
  };
  return { original, corrupt, pick };
}

async function main() {
  const scale = intFlags({ customers: 100_000, duplicates: 20_000, seed: 1 });
  const originals = scale.customers - scale.duplicates;
  if (originals <= 0) throw new Error('--duplicates must be below --customers');
  console.log(`bench/identity: ${fmt(scale.customers)} persons, ${fmt(scale.duplicates)} of them planted duplicates`);
  const cluster = await benchCluster();
  try {
    const url = await cluster.createDatabase('bench_identity');
    const dataSource = await openDatabase(url, 'bench-identity');
    const random = generator(scale.seed);
    const w = world(random);
    let t = performance.now();
    const people: Person[] = [];
    for (let e = 0; e < originals; e++) people.push(w.original(e));
    for (let d = 0; d < scale.duplicates; d++) people.push(w.corrupt(people[Math.floor(random() * originals)]));
    for (let i = people.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [people[i], people[j]] = [people[j], people[i]];
    }
    for (let i = 0; i < people.length; i += 20_000) {
      const batch = people.slice(i, i + 20_000);
      await dataSource.query(`INSERT INTO customers (kind, traits) SELECT 'PERSON', t FROM unnest($1::jsonb[]) AS v(t)`, [
        batch.map(({ entity, ...traits }) => JSON.stringify({ ...traits, benchEntity: entity })),
      ]);
    }
    people.length = 0; // the run's own memory is part of what is measured
    await dataSource.query('ANALYZE customers');
    console.log(`  seeded in ${fmt((performance.now() - t) / 1000, 1)} s (not measured)`);

    const [{ truth }] = await dataSource.query(
      `SELECT COALESCE(sum(n * (n - 1) / 2), 0)::bigint AS truth FROM (SELECT count(*) AS n FROM customers GROUP BY traits->>'benchEntity') g`,
    );

    // Baseline: exact agreement on name and birth date, one self-join.
    t = performance.now();
    const [baseline] = await dataSource.query(
      `SELECT count(*)::bigint AS pairs, count(*) FILTER (WHERE x.traits->>'benchEntity' = y.traits->>'benchEntity')::bigint AS tp
         FROM customers x JOIN customers y
           ON y.traits->>'givenName' = x.traits->>'givenName' AND y.traits->>'familyName' = x.traits->>'familyName'
          AND y.traits->>'birthDate' = x.traits->>'birthDate' AND x.id < y.id`,
    );
    const baselineSeconds = (performance.now() - t) / 1000;

    const config = loadConfig({ LOG_LEVEL: 'warn', DATABASE_URL: url });
    const logger = createLogger('warn');
    const runtime = await startRapport({
      config,
      logger,
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: false },
    });
    const { identity } = runtime.services;
    const { settings } = await identity.state();
    const cpuBefore = cluster.cpuSeconds();
    const nodeBefore = processCpuSeconds();
    // Postgres CPU at each phase boundary (the run reports wall and Node CPU per phase itself).
    const boundaries: { phase: string | null; postgres: number }[] = [];
    t = performance.now();
    const report = await identity.findDuplicates(undefined, (phase) => boundaries.push({ phase, postgres: cluster.cpuSeconds() }));
    const seconds = (performance.now() - t) / 1000;
    const clusterCpu = cluster.cpuSeconds() - cpuBefore;
    const nodeCpu = processCpuSeconds() - nodeBefore;
    // Pairs completeness: the share of true pairs that share a blocking key held by at most maxBlockSize customers (were compared).
    const [blocked] = await dataSource.query(
      `WITH t AS (
         SELECT x.id AS a, y.id AS b FROM customers x JOIN customers y ON y.traits->>'benchEntity' = x.traits->>'benchEntity' AND x.id < y.id
       )
       SELECT count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM identity_block_keys ka JOIN identity_block_keys kb ON kb.key = ka.key AND kb.customer_id = t.b
                 WHERE ka.customer_id = t.a AND (SELECT count(*) FROM identity_block_keys z WHERE z.key = ka.key) <= $1))::bigint AS compared
         FROM t`,
      [settings.maxBlockSize],
    );
    const [found] = await dataSource.query(
      `SELECT count(*)::bigint AS pairs, count(*) FILTER (WHERE a.traits->>'benchEntity' = b.traits->>'benchEntity')::bigint AS tp
         FROM duplicate_pairs p JOIN customers a ON a.id = p.customer_a JOIN customers b ON b.id = p.customer_b
        WHERE p.status = 'OPEN' AND p.score >= $1`,
      [settings.matchScore],
    );
    const rates = (pairs: number, tp: number) => {
      const precision = pairs ? tp / pairs : 0;
      const recall = Number(truth) ? tp / Number(truth) : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      return `precision ${fmt(precision, 4)}  recall ${fmt(recall, 4)}  F1 ${fmt(f1, 4)}`;
    };
    console.log('');
    console.log(`  true duplicate pairs            ${fmt(Number(truth))}`);
    console.log(
      `  findDuplicates                  ${fmt(seconds, 1)} s   (Postgres CPU ${fmt(clusterCpu, 1)} s, Node CPU ${fmt(nodeCpu, 1)} s; limit 300 s at 1M)`,
    );
    for (const phase of report.phases) {
      const at = boundaries.findIndex((b) => b.phase === phase.phase);
      const postgres = at >= 0 && at + 1 < boundaries.length ? boundaries[at + 1].postgres - boundaries[at].postgres : NaN;
      console.log(
        `    ${phase.phase.padEnd(12)}                ${fmt(phase.ms / 1000, 1).padStart(7)} s   Postgres CPU ${fmt(postgres, 1).padStart(6)} s   Node CPU ${fmt(phase.nodeCpuMs / 1000, 1).padStart(6)} s`,
      );
    }
    console.log(
      `    pairs compared                ${fmt(report.pairsCompared)}   (${fmt((report.pairsCompared / ((scale.customers * (scale.customers - 1)) / 2)) * 100, 5)} % of all pairs; ${fmt(report.oversizedKeys)} oversized keys skipped)`,
    );
    console.log(
      `    pairs completeness            ${fmt(Number(truth) ? Number(blocked.compared) / Number(truth) : 0, 4)}   (true pairs that share a blocking key)`,
    );
    console.log(`    at matchScore ${settings.matchScore}            ${fmt(Number(found.pairs))} pairs   ${rates(Number(found.pairs), Number(found.tp))}`);
    console.log(
      `  baseline: exact name + birth date   ${fmt(baselineSeconds, 1)} s   ${fmt(Number(baseline.pairs))} pairs   ${rates(Number(baseline.pairs), Number(baseline.tp))}`,
    );
    await runtime.stop();
    await dataSource.destroy();
  } finally {
    await cluster.close();
  }
}

runBench(main);

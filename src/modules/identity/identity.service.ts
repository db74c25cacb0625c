import type { Job } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';
import { fail } from '../../errors/catalog';
import { decodeCursor, encodeCursor } from '../../infra/cursor';
import { inTransaction } from '../../infra/database';
import { withTimeout } from '../../infra/jobs';
import type { Logger } from '../../infra/logger';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import { pageSize } from '../../infra/sql-filter';
import type { Evidence, FeatureRow } from './fellegi-sunter';
import { fullRun, matchCustomers, upsertPairs, type PhaseListener, type RunReport, type StoredModels } from './matcher';
import { DEFAULT_SETTINGS, mergeSettings, validateSettings, type MatchingSettings } from './settings';

export const FIND_DUPLICATES_JOB = 'identity.findDuplicates';

export type DuplicatePairStatus = 'OPEN' | 'DISMISSED' | 'MERGED';

/** A stored pair as the API shows it. */
export interface DuplicatePairRecord {
  a: string;
  b: string;
  score: number;
  evidence: Evidence[];
  status: DuplicatePairStatus;
  createdAt: Date;
  updatedAt: Date;
}

export interface DuplicateClusterRecord {
  customerIds: string[];
  /** The lowest score of the links that hold the cluster together. */
  minScore: number;
  maxScore: number;
}

/** The matcher's state as `identityMatching` shows it. */
export interface IdentityMatchingRecord {
  settings: MatchingSettings;
  models: StoredModels | null;
  lastRun: (RunReport & { autoMerge?: AutoMergeReport }) | null;
  fittedAt: Date | null;
}

/** One cluster an automatic merge would make (or made): the survivor is its oldest customer. */
export interface AutoMergeCluster {
  survivorId: string;
  mergedIds: string[];
  minScore: number;
}

export interface AutoMergeReport {
  clusters: AutoMergeCluster[];
  /** Pairs above autoMergeScore left out by a guard rail, by reason. */
  refused: { uniqueConflict: number; clusterCap: number };
  /** Whether the clusters were merged (a merge service is wired) or only selected. */
  merged: boolean;
}

/** Merges customers (the merges module's service, when present): the survivor keeps everything. */
export type MergeCustomers = (survivorId: string, mergedIds: string[], options: { reason: string }) => Promise<unknown>;

const PAIR_COLUMNS = `customer_a::text AS a, customer_b::text AS b, score, evidence, status, created_at AS "createdAt", updated_at AS "updatedAt"`;
/** Both customers of a pair still exist (a merged-away or erased one leaves until its pairs are settled). */
const LIVE = `EXISTS (SELECT 1 FROM customers c WHERE c.id = customer_a AND c.deleted_at IS NULL) AND EXISTS (SELECT 1 FROM customers c WHERE c.id = customer_b AND c.deleted_at IS NULL)`;
const CURSOR_SCOPE = 'duplicatePairs:score-desc';
/** How many clusters one duplicateClusters call returns. */
export const CLUSTER_LIMITS = { default: 100, max: 10_000 } as const;
/** A cluster query reads at most this many links. */
const MAX_CLUSTER_LINKS = 200_000;

function toPair(row: Record<string, unknown>): DuplicatePairRecord {
  return {
    a: row.a as string,
    b: row.b as string,
    score: Number(row.score),
    evidence: row.evidence as Evidence[],
    status: row.status as DuplicatePairStatus,
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
  };
}

function checkScore(value: number | null | undefined, field: string): number | undefined {
  if (value == null) return undefined;
  if (!Number.isFinite(value) || value < 0 || value > 1) throw fail('VALIDATION_FAILED', { detail: `${field} must be between 0 and 1` }, field);
  return value;
}

/**
 * Records a duplicate pair found outside the matcher (an ingest policy that
 * flags an identity conflict), in the caller's transaction. The pair is
 * stored in key order; one already there keeps a decision taken on it.
 */
export async function recordDuplicatePair(manager: EntityManager, a: string, b: string, score: number, evidence: Evidence[] = []): Promise<void> {
  if (a === b) return;
  const [first, second] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
  await upsertPairs(manager, [{ a: first, b: second, score, evidence: JSON.stringify(evidence) }], 'POLICY');
}

/** Marks the open pairs among `customerIds` MERGED (after they were merged into one). */
export async function markPairsMerged(manager: EntityManager, customerIds: readonly string[]): Promise<void> {
  await manager.query(
    `UPDATE duplicate_pairs SET status = 'MERGED', status_changed_at = now(), updated_at = now()
      WHERE status = 'OPEN' AND customer_a = ANY($1::bigint[]) AND customer_b = ANY($1::bigint[])`,
    [customerIds],
  );
}

export class IdentityService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queues: QueueBackend,
    private readonly logger: Logger,
    /** Set when a merge service is wired: automatic merges then go through it. */
    private readonly mergeCustomers?: MergeCustomers,
  ) {}

  async state(manager: EntityManager = this.dataSource.manager): Promise<IdentityMatchingRecord> {
    const [row] = await manager.query(`SELECT settings, models, last_run, fitted_at FROM identity_matching WHERE id`);
    return {
      settings: validateSettings({ ...DEFAULT_SETTINGS, ...(row?.settings ?? {}) }),
      models: row?.models ?? null,
      lastRun: row?.last_run ?? null,
      fittedAt: row?.fitted_at ?? null,
    };
  }

  /** Merges a change into the settings (validated whole); the next findDuplicates refits with them. */
  async updateSettings(change: unknown): Promise<IdentityMatchingRecord> {
    return inTransaction(this.dataSource, async (manager) => {
      const [row] = await manager.query(`SELECT settings FROM identity_matching WHERE id FOR UPDATE`);
      const merged = mergeSettings(validateSettings({ ...DEFAULT_SETTINGS, ...(row?.settings ?? {}) }), change);
      await manager.query(`UPDATE identity_matching SET settings = $1, updated_at = now() WHERE id`, [JSON.stringify(merged)]);
      return this.state(manager);
    });
  }

  /** Enqueues the full run; requests while one waits or runs join it. */
  async requestFindDuplicates(): Promise<Job> {
    const queue = this.queues.queue(QUEUES.analytics);
    const dedupId = 'identity:find-duplicates';
    const job = await withTimeout(
      queue.add(FIND_DUPLICATES_JOB, { kinds: [] }, { deduplication: { id: dedupId }, attempts: 2 }),
      5_000,
      'enqueue identity.findDuplicates',
    );
    const existing = job.id ? await queue.getJob(job.id) : undefined;
    if (existing) return existing;
    const holder = await queue.getDeduplicationJobId(dedupId);
    return (holder ? await queue.getJob(holder) : undefined) ?? job;
  }

  /** The full run (the job's work): fit, score, store; then the automatic merges the settings allow. */
  async findDuplicates(
    onProgress: (percent: number) => Promise<void> | void = () => undefined,
    onPhase?: PhaseListener,
  ): Promise<RunReport & { autoMerge?: AutoMergeReport }> {
    const { settings } = await this.state();
    const { models, report } = await fullRun(this.dataSource, settings, onProgress, onPhase);
    let autoMerge: AutoMergeReport | undefined;
    if (settings.autoMergeScore !== null) autoMerge = await this.autoMerge(settings);
    const lastRun = { ...report, ...(autoMerge ? { autoMerge } : {}) };
    await this.dataSource.query(`UPDATE identity_matching SET models = $1, last_run = $2, fitted_at = now() WHERE id`, [
      JSON.stringify(models),
      JSON.stringify(lastRun),
    ]);
    this.logger.info({ ...report, fits: undefined }, 'identity.findDuplicates done');
    return lastRun;
  }

  /**
   * The incremental run in the customer refresh: once a full run has fitted
   * the models, refreshed customers are compared as they arrive.
   */
  async onCustomersRefreshed(manager: EntityManager, customerIds: readonly string[]): Promise<void> {
    const [row] = await manager.query(`SELECT settings, models FROM identity_matching WHERE id AND models IS NOT NULL`);
    if (!row) return;
    const settings = validateSettings({ ...DEFAULT_SETTINGS, ...(row.settings ?? {}) });
    await matchCustomers(manager, settings, row.models as StoredModels, customerIds);
  }

  /** Removes an erased customer's pairs. */
  async forget(manager: EntityManager, customerId: string): Promise<void> {
    await manager.query(`DELETE FROM duplicate_pairs WHERE customer_a = $1 OR customer_b = $1`, [customerId]);
    await manager.query(`DELETE FROM identity_block_keys WHERE customer_id = $1`, [customerId]);
    await manager.query(`DELETE FROM identity_features WHERE customer_id = $1`, [customerId]);
  }

  /** After a merge: pairs among its customers are MERGED, and the merged-away customers leave the blocking keys. */
  async onMerged(manager: EntityManager, survivorId: string, mergedIds: readonly string[]): Promise<void> {
    await markPairsMerged(manager, [survivorId, ...mergedIds]);
    await manager.query(`DELETE FROM identity_block_keys WHERE customer_id = ANY($1::bigint[])`, [mergedIds]);
    await manager.query(`DELETE FROM identity_features WHERE customer_id = ANY($1::bigint[])`, [mergedIds]);
  }

  /** After an unmerge: the pairs among its customers are DISMISSED (a person said they are not one); the restored customers are matched again in their refresh. */
  async onUnmerged(manager: EntityManager, survivorId: string, restoredIds: readonly string[]): Promise<void> {
    await manager.query(
      `UPDATE duplicate_pairs SET status = 'DISMISSED', status_changed_at = now(), updated_at = now()
        WHERE customer_a = ANY($1::bigint[]) AND customer_b = ANY($1::bigint[]) AND status <> 'DISMISSED'`,
      [[survivorId, ...restoredIds]],
    );
  }

  /** Open pairs at or above minScore, best first (Relay page). */
  async pairs(args: { minScore?: number | null; first?: number | null; after?: string | null }) {
    const { settings } = await this.state();
    const minScore = checkScore(args.minScore, 'minScore') ?? settings.matchScore;
    const first = pageSize(args.first);
    const params: unknown[] = [minScore];
    let condition = 'true';
    if (args.after) {
      const [score, a, b] = decodeCursor(CURSOR_SCOPE, args.after, 3);
      params.push(Number(score), a, b);
      condition = `(score < $2::float8 OR (score = $2::float8 AND (customer_a, customer_b) > ($3::bigint, $4::bigint)))`;
    }
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${PAIR_COLUMNS} FROM duplicate_pairs
        WHERE status = 'OPEN' AND score >= $1 AND ${condition} AND ${LIVE}
        ORDER BY score DESC, customer_a, customer_b LIMIT ${first + 1}`,
      params,
    );
    const pairs = rows.slice(0, first).map(toPair);
    const edges = pairs.map((node) => ({ node, cursor: encodeCursor(CURSOR_SCOPE, [String(node.score), node.a, node.b]) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: async () => {
        const [{ count }] = await this.dataSource.query(
          `SELECT count(*)::int AS count FROM duplicate_pairs WHERE status = 'OPEN' AND score >= $1 AND ${LIVE}`,
          [minScore],
        );
        return count as number;
      },
    };
  }

  /** Connected groups of customers linked by open pairs at or above minScore, largest first. */
  async clusters(args: { minScore?: number | null; first?: number | null }): Promise<DuplicateClusterRecord[]> {
    const { settings } = await this.state();
    const minScore = checkScore(args.minScore, 'minScore') ?? settings.matchScore;
    const first = args.first ?? CLUSTER_LIMITS.default;
    if (!Number.isInteger(first) || first < 0 || first > CLUSTER_LIMITS.max)
      throw fail('PAGE_SIZE_EXCEEDED', { detail: `first must be between 0 and ${CLUSTER_LIMITS.max}` }, 'first');
    const links: { a: string; b: string; score: number }[] = await this.dataSource.query(
      `SELECT customer_a::text AS a, customer_b::text AS b, score FROM duplicate_pairs WHERE status = 'OPEN' AND score >= $1 AND ${LIVE} ORDER BY score DESC LIMIT ${MAX_CLUSTER_LINKS}`,
      [minScore],
    );
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let root = x;
      while (parent.get(root) !== root) root = parent.get(root) ?? root;
      for (let at = x; at !== root;) {
        const next = parent.get(at) ?? root;
        parent.set(at, root);
        at = next;
      }
      return root;
    };
    for (const { a, b } of links) {
      if (!parent.has(a)) parent.set(a, a);
      if (!parent.has(b)) parent.set(b, b);
      parent.set(find(a), find(b));
    }
    const groups = new Map<string, DuplicateClusterRecord>();
    for (const id of parent.keys()) {
      const root = find(id);
      const group = groups.get(root) ?? { customerIds: [], minScore: 1, maxScore: 0 };
      group.customerIds.push(id);
      groups.set(root, group);
    }
    for (const { a, score } of links) {
      const group = groups.get(find(a));
      if (!group) continue;
      group.minScore = Math.min(group.minScore, Number(score));
      group.maxScore = Math.max(group.maxScore, Number(score));
    }
    return [...groups.values()]
      .map((g) => ({ ...g, customerIds: g.customerIds.sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)) }))
      .sort((x, y) => y.customerIds.length - x.customerIds.length || (BigInt(x.customerIds[0]) < BigInt(y.customerIds[0]) ? -1 : 1))
      .slice(0, first);
  }

  /** Dismisses a pair: it stays stored as DISMISSED, so later runs do not bring it back. */
  async dismiss(x: string, y: string): Promise<DuplicatePairRecord> {
    if (x === y) throw fail('VALIDATION_FAILED', { detail: 'a and b must be two different customers' }, 'b');
    const [a, b] = BigInt(x) < BigInt(y) ? [x, y] : [y, x];
    return inTransaction(this.dataSource, async (manager) => {
      const [rows]: [Record<string, unknown>[], number] = await manager.query(
        `UPDATE duplicate_pairs SET status = 'DISMISSED', status_changed_at = now(), updated_at = now()
          WHERE customer_a = $1 AND customer_b = $2 AND status <> 'MERGED'
          RETURNING ${PAIR_COLUMNS}`,
        [a, b],
      );
      if (rows.length === 0) throw fail('DUPLICATE_PAIR_NOT_FOUND', { detail: 'no open or dismissed duplicate pair links these two customers' }, 'a');
      return toPair(rows[0]);
    });
  }

  /**
   * Chooses the clusters the worker merges: open pairs at or above
   * autoMergeScore, best first, joined into clusters unless the join would put
   * two different values of a unique field (two national ids) in one cluster,
   * or make it larger than maxClusterSize. With a merge service wired, each
   * cluster is merged into its oldest customer; without one, the selection is
   * reported only.
   */
  async autoMerge(settings: MatchingSettings): Promise<AutoMergeReport> {
    const report = await this.selectAutoMerges(settings);
    if (!this.mergeCustomers) return report;
    for (const cluster of report.clusters) {
      try {
        await this.mergeCustomers(cluster.survivorId, cluster.mergedIds, { reason: 'identity.autoMerge' });
        // Settled at once (the customer.merged consumer does the same for merges made elsewhere).
        await markPairsMerged(this.dataSource.manager, [cluster.survivorId, ...cluster.mergedIds]);
      } catch (error) {
        this.logger.warn({ err: error, survivorId: cluster.survivorId }, 'automatic merge refused; the pairs stay open');
      }
    }
    return { ...report, merged: true };
  }

  async selectAutoMerges(settings: MatchingSettings): Promise<AutoMergeReport> {
    const refused = { uniqueConflict: 0, clusterCap: 0 };
    if (settings.autoMergeScore === null) return { clusters: [], refused, merged: false };
    const links: { a: string; b: string; score: number }[] = await this.dataSource.query(
      `SELECT customer_a::text AS a, customer_b::text AS b, score FROM duplicate_pairs
        WHERE status = 'OPEN' AND score >= $1 AND ${LIVE} ORDER BY score DESC, customer_a, customer_b LIMIT ${MAX_CLUSTER_LINKS}`,
      [settings.autoMergeScore],
    );
    const ids = [...new Set(links.flatMap((l) => [l.a, l.b]))];
    const features = new Map<string, FeatureRow>();
    if (ids.length > 0) {
      const rows: { id: string; features: FeatureRow }[] = await this.dataSource.query(
        `SELECT customer_id::text AS id, features FROM identity_features WHERE customer_id = ANY($1::bigint[])`,
        [ids],
      );
      for (const row of rows) features.set(row.id, row.features);
    }
    // Each cluster: its members and, per unique field, the one value it holds.
    const clusterOf = new Map<string, { members: string[]; unique: Map<string, string>; minScore: number }>();
    const get = (id: string) => {
      let cluster = clusterOf.get(id);
      if (!cluster) {
        const unique = new Map<string, string>();
        for (const field of settings.uniqueFields) {
          const value = features.get(id)?.[field];
          if (value) unique.set(field, value);
        }
        cluster = { members: [id], unique, minScore: 1 };
        clusterOf.set(id, cluster);
      }
      return cluster;
    };
    for (const { a, b, score } of links) {
      const x = get(a);
      const y = get(b);
      if (x === y) continue;
      if ([...x.unique].some(([field, value]) => y.unique.has(field) && y.unique.get(field) !== value)) {
        refused.uniqueConflict++;
        continue;
      }
      if (x.members.length + y.members.length > settings.maxClusterSize) {
        refused.clusterCap++;
        continue;
      }
      x.members.push(...y.members);
      for (const [field, value] of y.unique) x.unique.set(field, value);
      x.minScore = Math.min(x.minScore, y.minScore, Number(score));
      for (const id of y.members) clusterOf.set(id, x);
    }
    const clusters = [...new Set(clusterOf.values())]
      .filter((c) => c.members.length > 1)
      .map((c) => {
        const sorted = c.members.sort((p, q) => (BigInt(p) < BigInt(q) ? -1 : 1));
        return { survivorId: sorted[0], mergedIds: sorted.slice(1), minScore: c.minScore };
      })
      .sort((p, q) => (BigInt(p.survivorId) < BigInt(q.survivorId) ? -1 : 1));
    return { clusters, refused, merged: false };
  }
}

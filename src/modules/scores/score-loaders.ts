import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import type { ScoreKind } from './score-kind';
import type { ScoreRecord } from './score.service';

/** One point of a score's history. */
export interface ScorePointRecord {
  value: number;
  label: string | null;
  components: Record<string, unknown>;
  recordedAt: Date;
}

export const HISTORY_LIMITS = { default: 20, max: 500 } as const;

const SCORE_COLUMNS = `customer_id::text AS "customerId", kind, value, label, components, model_version AS "modelVersion", computed_at AS "computedAt", changed_at AS "changedAt"`;

/**
 * Request-scoped loaders of scores: every customer of a page costs one
 * statement for its scores and one per distinct `history(first:)` argument.
 */
export function createScoreLoaders(dataSource: DataSource) {
  const historyLoaders = new Map<number, DataLoader<string, ScorePointRecord[]>>();
  return {
    /** All current scores of a customer, by customer id. */
    scores: new DataLoader<string, ScoreRecord[]>(async (ids) => {
      const rows: ScoreRecord[] = await dataSource.query(
        `SELECT ${SCORE_COLUMNS} FROM scores WHERE customer_id = ANY($1::bigint[]) ORDER BY kind`,
        [ids],
      );
      const byCustomer = new Map<string, ScoreRecord[]>();
      for (const row of rows) byCustomer.set(row.customerId, [...(byCustomer.get(row.customerId) ?? []), row]);
      return ids.map((id) => byCustomer.get(id) ?? []);
    }),
    /**
     * The latest `first` points of each score, newest first, keyed by
     * `customerId:kind`: the current value (its `changed_at`), then the values
     * it superseded (`score_history`). One statement, so one snapshot: a swap
     * or refresh committing between two reads cannot show a value twice. A
     * superseded value recorded at or after the current one's instant repeats
     * it (a score removed and restored unchanged) and is left out.
     */
    history(first: number): DataLoader<string, ScorePointRecord[]> {
      let loader = historyLoaders.get(first);
      if (!loader) {
        loader = new DataLoader(async (keys) => {
          const pairs = keys.map((k) => k.split(':') as [string, ScoreKind]);
          const rows: (ScorePointRecord & { key: string })[] = await dataSource.query(
            `WITH wanted AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS t(customer_id, kind)),
             current AS (
               SELECT s.customer_id, s.kind, s.value, s.label, s.components, s.changed_at
                 FROM scores s JOIN wanted t ON t.customer_id = s.customer_id AND t.kind = s.kind)
             SELECT key, value, label, components, recorded_at AS "recordedAt" FROM (
               SELECT p.customer_id::text || ':' || p.kind AS key, p.value, p.label, p.components, p.recorded_at,
                      row_number() OVER (PARTITION BY p.customer_id, p.kind ORDER BY p.current DESC, p.recorded_at DESC, p.id DESC) AS n
                 FROM (SELECT c.customer_id, c.kind, c.value, c.label, c.components, c.changed_at AS recorded_at, true AS current, 0::bigint AS id
                         FROM current c
                       UNION ALL
                       SELECT h.customer_id, h.kind, h.value, h.label, h.components, h.recorded_at, false, h.id
                         FROM score_history h JOIN wanted t ON t.customer_id = h.customer_id AND t.kind = h.kind
                        WHERE NOT EXISTS (SELECT 1 FROM current c WHERE c.customer_id = h.customer_id AND c.kind = h.kind
                                             AND h.recorded_at >= c.changed_at)) p) x
              WHERE n <= $3 ORDER BY key, n`,
            [pairs.map((p) => p[0]), pairs.map((p) => p[1]), first],
          );
          const byKey = new Map<string, ScorePointRecord[]>();
          for (const { key, ...point } of rows) byKey.set(key, [...(byKey.get(key) ?? []), point]);
          return keys.map((k) => byKey.get(k) ?? []);
        });
        historyLoaders.set(first, loader);
      }
      return loader;
    },
  };
}

export type ScoreLoaders = ReturnType<typeof createScoreLoaders>;

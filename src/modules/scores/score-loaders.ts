import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { kindDefinition } from './kinds';
import { isScoreKind, type ScoreKind } from './score-kind';
import type { ScoreRecord } from './score.service';

/** One point of a score's history. */
export interface ScorePointRecord {
  value: number;
  label: string | null;
  components: Record<string, unknown>;
  recordedAt: Date;
}

export const HISTORY_LIMITS = { default: 20, max: 500 } as const;

const SCORE_COLUMNS = `customer_id::text AS "customerId", kind, value, label, components AS "storedComponents",
  component_values AS "componentValues", component_keys AS "componentKeys",
  model_version AS "modelVersion", computed_at AS "computedAt", changed_at AS "changedAt"`;

/** The figures of a score as stored, read with it (and the object of a score written before they were). */
interface StoredFigures {
  storedComponents: Record<string, unknown> | null;
  componentValues: number[];
  componentKeys: string[] | null;
}

/**
 * The `components` object of a score of `kind`: the object stored with a
 * score written before migration ScoreComponentArrays1764600000000, else
 * what its kind makes of its figures (empty for a kind this release does
 * not know).
 */
export function componentsOf(kind: string, stored: Record<string, unknown> | null, values: number[] | null, keys: string[] | null): Record<string, unknown> {
  if (stored) return stored;
  return isScoreKind(kind) ? kindDefinition(kind).components({ values: values ?? [], keys }) : {};
}

/** A row read with its stored figures, with the `components` object of {@link componentsOf} instead. */
function withComponents<R extends StoredFigures>(kind: ScoreKind, row: R): Omit<R, keyof StoredFigures> & { components: Record<string, unknown> } {
  const { storedComponents, componentValues, componentKeys, ...rest } = row;
  return { ...rest, components: componentsOf(kind, storedComponents, componentValues, componentKeys) };
}

/**
 * Request-scoped loaders of scores: every customer of a page costs one
 * statement for its scores and one per distinct `history(first:)` argument.
 */
export function createScoreLoaders(dataSource: DataSource) {
  const historyLoaders = new Map<number, DataLoader<string, ScorePointRecord[]>>();
  return {
    /** All current scores of a customer, by customer id. */
    scores: new DataLoader<string, ScoreRecord[]>(async (ids) => {
      const rows: (Omit<ScoreRecord, 'components'> & StoredFigures)[] = await dataSource.query(
        `SELECT ${SCORE_COLUMNS} FROM scores WHERE customer_id = ANY($1::bigint[]) ORDER BY kind`,
        [ids],
      );
      const byCustomer = new Map<string, ScoreRecord[]>();
      for (const row of rows) byCustomer.set(row.customerId, [...(byCustomer.get(row.customerId) ?? []), withComponents(row.kind, row)]);
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
          const rows: (Omit<ScorePointRecord, 'components'> & StoredFigures & { key: string })[] = await dataSource.query(
            `WITH wanted AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS t(customer_id, kind)),
             current AS (
               SELECT s.customer_id, s.kind, s.value, s.label, s.components, s.component_values, s.component_keys, s.changed_at
                 FROM scores s JOIN wanted t ON t.customer_id = s.customer_id AND t.kind = s.kind)
             SELECT key, value, label, components AS "storedComponents", component_values AS "componentValues", component_keys AS "componentKeys",
                    recorded_at AS "recordedAt" FROM (
               SELECT p.customer_id::text || ':' || p.kind AS key, p.value, p.label, p.components, p.component_values, p.component_keys, p.recorded_at,
                      row_number() OVER (PARTITION BY p.customer_id, p.kind ORDER BY p.current DESC, p.recorded_at DESC, p.id DESC) AS n
                 FROM (SELECT c.customer_id, c.kind, c.value, c.label, c.components, c.component_values, c.component_keys, c.changed_at AS recorded_at, true AS current, 0::bigint AS id
                         FROM current c
                       UNION ALL
                       SELECT h.customer_id, h.kind, h.value, h.label, h.components, h.component_values, h.component_keys, h.recorded_at, false, h.id
                         FROM score_history h JOIN wanted t ON t.customer_id = h.customer_id AND t.kind = h.kind
                        WHERE NOT EXISTS (SELECT 1 FROM current c WHERE c.customer_id = h.customer_id AND c.kind = h.kind
                                             AND h.recorded_at >= c.changed_at)) p) x
              WHERE n <= $3 ORDER BY key, n`,
            [pairs.map((p) => p[0]), pairs.map((p) => p[1]), first],
          );
          const byKey = new Map<string, ScorePointRecord[]>();
          for (const { key, ...point } of rows)
            byKey.set(key, [...(byKey.get(key) ?? []), withComponents(key.slice(key.indexOf(':') + 1) as ScoreKind, point)]);
          return keys.map((k) => byKey.get(k) ?? []);
        });
        historyLoaders.set(first, loader);
      }
      return loader;
    },
  };
}

export type ScoreLoaders = ReturnType<typeof createScoreLoaders>;

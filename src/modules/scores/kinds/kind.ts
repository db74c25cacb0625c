import type { EntityManager } from 'typeorm';
import type { z } from 'zod';
import type { SqlParams } from '../../../infra/sql-filter';
import type { ScoreKind } from '../score-kind';

/** Something that runs SQL: the DataSource's manager, or the manager of a transaction. */
export type Queryable = Pick<EntityManager, 'query'>;

/** A stored model as the kinds read it. */
export interface StoredModel {
  kind: ScoreKind;
  settings: Record<string, unknown>;
  parameters: Record<string, unknown> | null;
  fittedAt: Date | null;
  asOf: Date | null;
  sampleSize: number | null;
  diagnostics: Record<string, unknown> | null;
  version: number;
  updatedAt: Date;
}

/** What a fit produces; the service stores it in `score_models` and bumps the version. */
export interface FitResult {
  parameters: Record<string, unknown>;
  diagnostics: Record<string, unknown>;
  sampleSize: number;
  /** The instant the data was summarised up to (see each kind). */
  asOf: Date;
}

/** The customers a score run covers: an explicit list, or a range of ids (inclusive) during a full recompute. */
export type ScoreScope = { customerIds: string[] } | { idRange: [string, string] };

/**
 * The figures behind a score as stored: numbers in an order the kind defines,
 * and, for kinds whose figures are keyed by data (ENGAGEMENT's channels), the
 * keys of the keyed ones. Its {@link ScoreKindDefinition.components} turns
 * them into the `components` object readers see. Stored as `float8[]` and
 * `text[]`: a full recompute writes millions of them, and building a jsonb
 * object per row costs more than the rest of the row (figures in docs/performance.md).
 */
export interface StoredComponents {
  values: readonly number[];
  keys: readonly string[] | null;
}

/** One computed score, ready to be written. */
export interface ScoreRow {
  customerId: string;
  value: number;
  label: string | null;
  /** The kind's figures, in the order its {@link ScoreKindDefinition.components} reads them. */
  componentValues: number[];
  /** Keys of keyed figures, for kinds whose figures are keyed by data (CHURN_PROPENSITY's features). */
  componentKeys?: string[];
}

/**
 * A read-through memo owned by whoever runs the kinds (the score service): a
 * kind asks for the value under `key` and says how to compute it; the first
 * ask computes it, and every later ask, by this kind or another one sharing
 * the memo, gets that same value. A kind cannot list, replace or drop what is
 * memoised; the owner decides how long the memo lives.
 */
export interface Memo {
  get<T>(key: string, compute: () => T): T;
}

/**
 * The segment rule language as kinds that take rules in their settings use
 * it (CHURN_PROPENSITY's population, outcome and behaviour features). The
 * segments module implements it and the assembler hands it to the score
 * service: the rule language's types name the score kinds, so scores cannot
 * import it without a cycle.
 */
export interface CustomerRules {
  /**
   * Validates a rule in the `SegmentRuleInput` JSON shape and returns it
   * normalised. Without `piiRead`, a rule on personal data is refused.
   *
   * @throws RapportError SEGMENT_RULE_INVALID or FORBIDDEN naming the field (under `root`).
   */
  check(input: unknown, options: { root: string; piiRead: boolean }): Promise<unknown>;
  /** Validates a behaviour aggregate: the `behavior` shape of a rule without `op` and `value`. Throws like {@link check}. */
  checkBehavior(input: unknown, options: { root: string; piiRead: boolean }): Promise<unknown>;
  /** Whether a trait path holds personal data (RAPPORT_PERSONAL_TRAITS). */
  isPersonalTrait(path: string): boolean;
  /** A SELECT of `customer_id` of the live customers a (checked) rule matches now, parameters in `p`. */
  matching(rule: unknown, p: SqlParams): string;
  /**
   * A SELECT of `customer_id` and `v`, a (checked) behaviour aggregate per
   * customer as of `until` (an SQL timestamptz expression): its window ends
   * there and later interactions are left out. `restrict`: an SQL condition
   * on `i.customer_id`.
   */
  aggregate(behavior: unknown, p: SqlParams, options: { until: string; restrict?: string }): string;
}

/** What a kind sees while fitting and while scoring. */
export interface KindContext<S> {
  db: Queryable;
  /** The rule language, when the process has the segments module (it always has in Rapport's assembly). */
  rules?: CustomerRules;
  settings: S;
  /** This kind's stored model (parameters are those of the latest fit). */
  model: StoredModel;
  /** Every stored model, for kinds derived from another (CHURN_RISK reads CLV's BG/NBD). */
  models: ReadonlyMap<ScoreKind, StoredModel>;
  /** Database time at the start of the run: the reference "now" for recency and decay. */
  now: Date;
  /**
   * Memo of one full recompute, shared by its fits and batches: what a fit
   * read of every customer that batches can use instead of reading it again
   * (CLV's purchase summaries), and what batches compute that later batches
   * can reuse (CLV's figures per (x, t_x, T)). The run scores as of its fits'
   * snapshot; the customers written meanwhile are scored again after the swap.
   * Absent outside a full recompute (refreshes, targeted rescores).
   */
  runMemo?: Memo;
}

/** What a kind sees while fitting: fits run only in a full recompute. */
export interface FitContext<S> extends KindContext<S> {
  runMemo: Memo;
  /**
   * Keeps the rows of `select` (a SELECT with a `customer_id` column, its
   * parameters in `params`) for this run's batches, which then get them as
   * {@link ScoreContext.keptFeatures} instead of reading the interactions
   * again; answers the table that holds them. The fit reads every interaction
   * once, in whatever order they are stored; a batch reading its id range of
   * the interactions instead jumps across the whole table when they are
   * stored in arrival order, as ingest writes them.
   */
  keepFeatures(select: string, params: unknown[]): Promise<string>;
}

/** What a kind sees while scoring one scope. */
export interface ScoreContext<S> extends KindContext<S> {
  /**
   * Memo shared by the kinds scored together over this scope (one batch of a
   * full recompute, or one refresh), so kinds built on the same inputs (CLV
   * and CHURN_RISK: the purchase summaries) read them once.
   */
  scopeMemo: Memo;
  /**
   * In a full recompute's batches: the table of the rows this kind's fit kept
   * with {@link FitContext.keepFeatures} (sorted by `customer_id`), if it
   * kept any. Absent outside a full recompute.
   */
  keptFeatures?: string;
}

/**
 * A score model. Adding a kind is one file implementing this plus one line in
 * `kinds/index.ts` (and the value in {@link SCORE_KINDS}).
 */
export interface ScoreKindDefinition<S = unknown> {
  kind: ScoreKind;
  /** One sentence for the API docs. */
  description: string;
  /** Settings with their defaults; `parse({})` gives the defaults. Unknown keys are rejected. */
  settings: z.ZodType<S>;
  /**
   * Checks of the settings beyond their schema, when they are changed
   * (rules in them, which need the database and the caller's scopes); returns
   * the settings to store.
   */
  checkSettings?(settings: S, options: { rules?: CustomerRules; piiRead: boolean }): Promise<S>;
  /**
   * False while the settings lack what a fit needs (CHURN_PROPENSITY without
   * population and outcome): a recompute of every kind then leaves the kind
   * alone, and one that names it reports why.
   */
  configured?(settings: S): boolean;
  /** Kinds whose fit must be saved before this kind's fit starts (fits otherwise run concurrently). */
  fitAfter?: readonly ScoreKind[];
  /** Kinds recomputed together with this one (they share a fitted model). */
  recomputeWith?: readonly ScoreKind[];
  /** The range values fall in, for histograms; omitted when unbounded (taken from the data). */
  range?: readonly [number, number];
  /**
   * Fits the model over all customers. Kinds without it only score; kinds with
   * it are scored (by refreshes too) only once fitted.
   */
  fit?(ctx: FitContext<S>): Promise<FitResult>;
  /**
   * The `components` object of a score (what the API shows) from its stored
   * figures, rounded for reading. Stored figures of an older or unknown
   * shape (fewer values than the kind writes) give what can be read of them.
   */
  components(stored: StoredComponents): Record<string, unknown>;
  /**
   * Scores the customers of `scope` in SQL: returns a SELECT of `customer_id`
   * (bigint), `value` (float8), `label` (text), `component_values` (float8[],
   * in the order {@link components} reads them) and `component_keys` (text[]
   * or NULL), its
   * parameters appended to `params`, or null when the kind cannot score yet
   * (no fitted parameters). The writer runs it inside the statement that
   * upserts the scores, so rows never travel through the worker. Preferred
   * over {@link score}; a kind gives one of the two.
   */
  scoreSql?(ctx: ScoreContext<S>, scope: ScoreScope, p: SqlParams): string | null;
  /**
   * Scores the customers of `scope` in the worker (closed forms evaluated in
   * JS over the scope's summaries); customers it returns no row for get no
   * score of this kind.
   */
  score?(ctx: ScoreContext<S>, scope: ScoreScope): Promise<ScoreRow[]>;
}

/** SQL condition restricting `column` to the scope, its parameters bound in `p`. */
export function scopeCondition(column: string, scope: ScoreScope, p: SqlParams): string {
  if ('customerIds' in scope) return `${column} = ANY(${p.add(scope.customerIds)}::bigint[])`;
  return `${column} BETWEEN ${p.add(scope.idRange[0])}::bigint AND ${p.add(scope.idRange[1])}::bigint`;
}

/**
 * SQL condition that the customer `customerIdSql` exists and is not deleted,
 * within the scope when one is given (so the planner reads only its range of
 * customers). Applied to rows already aggregated per customer rather than
 * joined to every interaction: one probe per customer instead of one per
 * interaction, for the same result.
 */
export function liveCustomer(customerIdSql: string, scope: ScoreScope | null, p: SqlParams): string {
  const scoped = scope ? ` AND ${scopeCondition('c.id', scope, p)}` : '';
  return `EXISTS (SELECT 1 FROM customers c WHERE c.id = ${customerIdSql} AND c.deleted_at IS NULL${scoped})`;
}

/** Defines a kind with its settings type inferred from the schema. */
export function defineScoreKind<S>(definition: ScoreKindDefinition<S>): ScoreKindDefinition<S> {
  return definition;
}

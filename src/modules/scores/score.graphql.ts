import { builder } from '../../graphql/builder';
import { localId } from '../../graphql/ids';
import { kindDefinition, type StoredModel } from './kinds';
import { HISTORY_LIMITS, type ScorePointRecord } from './score-loaders';
import { ScoreKindEnum } from './score-inputs.graphql';
import { DISTRIBUTION_LIMITS, type ScoreBucket, type ScoreRecord } from './score.service';
import type { RecomputeJobRecord } from './scores.jobs';
import { fail } from '../../errors/catalog';
import { hasScope } from '../access';

export const ScorePointRef = builder.objectRef<ScorePointRecord>('ScorePoint').implement({
  description: 'A score as it was after one change (a point is recorded only when the value or label changed).',
  fields: (t) => ({
    value: t.exposeFloat('value', { description: 'The value after the change.' }),
    label: t.exposeString('label', { nullable: true, description: 'The label after the change.' }),
    components: t.field({ type: 'JSON', description: 'The figures behind the value at that time.', resolve: (p) => p.components }),
    recordedAt: t.field({ type: 'DateTime', description: 'When the change was recorded.', resolve: (p) => p.recordedAt }),
  }),
});

export const ScoreRef = builder.objectRef<ScoreRecord>('Score').implement({
  description: 'A customer’s current score of one kind, with the figures that explain it.',
  fields: (t) => ({
    kind: t.field({ type: ScoreKindEnum, description: 'Which score.', resolve: (s) => s.kind }),
    value: t.exposeFloat('value', {
      description: 'The score (RFM 1–5, ENGAGEMENT 0–100, CLV in the currency of the data, CHURN_RISK and CHURN_PROPENSITY 0–1).',
    }),
    label: t.exposeString('label', {
      nullable: true,
      description: 'RFM segment name or churn band (LOW, MEDIUM, HIGH: CHURN_RISK, CHURN_PROPENSITY); null for ENGAGEMENT and CLV.',
    }),
    components: t.field({
      type: 'JSON',
      description:
        'Inputs and intermediate figures: RFM recency (days), frequency, monetary, r, f, m, code; ENGAGEMENT raw, byChannel; CLV x, tx, T, m, pAlive, expectedPurchases, expectedAverageValue, clv; CHURN_RISK x, tx, T, pAlive; CHURN_PROPENSITY probability, logit, intercept, up and down (the top 5 features each way: feature, trait, level, contribution = coefficient × standardised value) and rest (the other features), which sum to the logit. Without pii:read, the level and contribution of a personal trait are masked.',
      resolve: (s) => s.components,
    }),
    modelVersion: t.exposeInt('modelVersion', { description: 'Version of the model (see scoreModels) this score was computed with.' }),
    computedAt: t.field({
      type: 'DateTime',
      description: 'When this score was last computed (a refresh after ingest or a recompute).',
      resolve: (s) => s.computedAt,
    }),
    changedAt: t.field({
      type: 'DateTime',
      description: 'When the value or label became what it is (the newest point of history); computedAt moves on every computation, this only on a change.',
      resolve: (s) => s.changedAt,
    }),
    history: t.field({
      type: [ScorePointRef],
      description: `The score's values, newest first (the current one, then each it replaced): one point per change, not per run. ${HISTORY_LIMITS.default} by default, at most ${HISTORY_LIMITS.max}.`,
      args: { first: t.arg.int({ description: `How many points (default ${HISTORY_LIMITS.default}, at most ${HISTORY_LIMITS.max}).` }) },
      resolve: (s, args, ctx) => {
        const first = args.first ?? HISTORY_LIMITS.default;
        if (!Number.isInteger(first) || first < 0 || first > HISTORY_LIMITS.max) {
          throw fail('PAGE_SIZE_EXCEEDED', { detail: `first must be from 0 to ${HISTORY_LIMITS.max}` }, 'first');
        }
        return first === 0 ? [] : ctx.scoreLoaders.history(first).load(`${s.customerId}:${s.kind}`);
      },
    }),
  }),
});

export const ScoreModelRef = builder.objectRef<StoredModel>('ScoreModel').implement({
  description: 'The model of one score kind: settings, fitted parameters and how the fit went.',
  fields: (t) => ({
    kind: t.field({ type: ScoreKindEnum, description: 'Which score.', resolve: (m) => m.kind }),
    description: t.string({ description: 'What the model computes.', resolve: (m) => kindDefinition(m.kind).description }),
    settings: t.field({ type: 'JSON', description: 'Effective settings, defaults filled in (change them with updateScoreModel).', resolve: (m) => m.settings }),
    parameters: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Fitted parameters; null before the first fit. CLV: r, alpha, a, b (BG/NBD, weeks) and p, q, gamma (Gamma-Gamma). RFM: quintile upper bounds. ENGAGEMENT: scale, scaledAt. CHURN_PROPENSITY: encoding (levels, means, sds), beta, lambda; levels of personal traits are masked without pii:read.',
      resolve: (m) => m.parameters,
    }),
    fittedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the model was last fitted.', resolve: (m) => m.fittedAt }),
    asOf: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'The data the fit saw: CLV and CHURN_RISK the calibration day (purchases up to the end of that UTC day), RFM and ENGAGEMENT the instant of the fit.',
      resolve: (m) => m.asOf,
    }),
    sampleSize: t.int({ nullable: true, description: 'Customers the fit used.', resolve: (m) => m.sampleSize }),
    diagnostics: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'How the fit went; CLV: per model logLikelihood, iterations, converged, sampleSize. CHURN_PROPENSITY: trainingSize, classBalance, crossValidation (rocAuc, logLoss, lambda, path, 10-bin calibration), coefficients of the standardised features.',
      resolve: (m) => m.diagnostics,
    }),
    version: t.exposeInt('version', { description: 'Incremented at every fit; scores carry the version they were computed with.' }),
  }),
});

export const ScoreBucketRef = builder.objectRef<ScoreBucket>('ScoreBucket').implement({
  description: 'One bar of a score histogram: values in [lower, upper) (the last bucket includes upper).',
  fields: (t) => ({
    lower: t.exposeFloat('lower', { description: 'Lower bound (inclusive).' }),
    upper: t.exposeFloat('upper', { description: 'Upper bound (exclusive, except for the last bucket).' }),
    count: t.exposeInt('count', { description: 'Customers whose score falls in the bucket.' }),
  }),
});

const RecomputeJobStatusEnum = builder.enumType('RecomputeJobStatus', {
  description: 'Where a recompute job stands.',
  values: {
    QUEUED: { description: 'Waiting for a worker.' },
    RUNNING: { description: 'A worker is on it; see progress and heartbeatAt.' },
    STALLED: {
      description:
        'Its worker stopped reporting (heartbeatAt is older than the job lock, RAPPORT_JOB_LOCK_MS): it died or hangs. The queue hands the job to another worker, which starts it over (status goes back to QUEUED, then RUNNING); keep polling. Nothing needs requesting again.',
    },
    COMPLETED: { description: 'Done.' },
    FAILED: { description: 'Stopped; see error.' },
  } as const,
});

export const RecomputeJobRef = builder.objectRef<RecomputeJobRecord>('RecomputeJob').implement({
  description: 'An asynchronous recompute; poll it with recomputeJob(id).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Job id, for recomputeJob(id).' }),
    status: t.field({ type: RecomputeJobStatusEnum, description: 'Where the job stands.', resolve: (j) => j.status }),
    progress: t.exposeInt('progress', { description: 'Work done, 0–100.' }),
    kinds: t.field({ type: [ScoreKindEnum], description: 'Kinds recomputed (including the kinds that share their model).', resolve: (j) => j.kinds }),
    createdAt: t.field({ type: 'DateTime', description: 'When the job was requested.', resolve: (j) => j.createdAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it completed or failed.', resolve: (j) => j.finishedAt }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed (e.g. a model with too little data to fit).' }),
    heartbeatAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the worker running it last reported it alive (several times per job lock period); null before a worker took it.',
      resolve: (j) => j.heartbeatAt,
    }),
  }),
});

builder.queryFields((t) => ({
  scoreModels: t.field({
    type: [ScoreModelRef],
    description: 'The model of every score kind with its settings, fitted parameters and fit diagnostics.',
    resolve: (_root, _args, ctx) => ctx.servicesOf('scores').scores.listModels(),
  }),
  scoreDistribution: t.field({
    type: [ScoreBucketRef],
    description: 'Histogram of one kind’s scores in equal-width buckets (over 1–5 for RFM, 0–100 ENGAGEMENT, 0–1 CHURN_RISK, the data’s range for CLV).',
    args: {
      kind: t.arg({ type: ScoreKindEnum, required: true, description: 'Which score.' }),
      buckets: t.arg.int({ description: `Number of buckets, ${DISTRIBUTION_LIMITS.defaultBuckets} by default, at most ${DISTRIBUTION_LIMITS.maxBuckets}.` }),
    },
    resolve: (_root, args, ctx) => ctx.servicesOf('scores').scores.distribution(args.kind, args.buckets ?? DISTRIBUTION_LIMITS.defaultBuckets),
  }),
  recomputeJob: t.field({
    type: RecomputeJobRef,
    nullable: true,
    description:
      'A recompute job by id; null when unknown or removed (finished jobs are kept for an hour). Reading it needs the read scope of what it computes: scores:read, segments:read for a segment refresh, customers:read for a matching run.',
    args: { id: t.arg.id({ required: true, description: 'The id returned by recomputeScores, refreshSegment, recomputeRecommendations or findDuplicates.' }) },
    resolve: async (_root, args, ctx) => requireJobAccess(ctx, await ctx.servicesOf('scores').recomputes.find(String(args.id))),
  }),
}));

builder.mutationFields((t) => ({
  updateScoreModel: t.field({
    type: ScoreModelRef,
    description:
      'Changes settings of a score model (merged into the stored ones; null resets a setting to its default), validated; schedules a recompute of the kind.',
    args: {
      kind: t.arg({ type: ScoreKindEnum, required: true, description: 'Which model.' }),
      settings: t.arg({ type: 'JSON', required: true, description: 'Settings to change, e.g. {"halfLifeDays": 14}; see the scores README for each kind’s.' }),
    },
    resolve: (_root, args, ctx) => ctx.servicesOf('scores').scores.updateModel(args.kind, args.settings, { piiRead: hasScope(ctx.principal, 'pii:read') }),
  }),
  recomputeScores: t.field({
    type: RecomputeJobRef,
    description:
      'Starts a recompute: without customerIds, fit the models and rescore everyone; with them, rescore those customers with the current models (after a full recompute running at the time, with its models). Identical requests while one is pending coalesce into that job.',
    args: {
      kinds: t.arg({ type: [ScoreKindEnum], description: 'Kinds to recompute; all by default. Kinds sharing a model (CLV, CHURN_RISK) go together.' }),
      customerIds: t.arg.idList({ description: 'Global ids of the only customers to rescore (at most 10,000).' }),
    },
    resolve: async (_root, args, ctx) => {
      const customerIds = args.customerIds?.map((id, i) => localId(String(id), 'Customer', `customerIds[${i}]`));
      return ctx.servicesOf('scores').recomputes.request(args.kinds ?? [], customerIds ?? undefined);
    },
  }),
}));

/**
 * A job as its reader may see it: one job id names score recomputes,
 * segment refreshes and matching runs alike, so the scope is checked per
 * job (the read scope of what it computes), not per field.
 */
export function requireJobAccess(ctx: { principal?: Parameters<typeof hasScope>[0] }, job: RecomputeJobRecord | null): RecomputeJobRecord | null {
  if (job && !hasScope(ctx.principal, job.readScope)) {
    throw fail('FORBIDDEN', { detail: `reading this job requires the scope ${job.readScope}` }, 'id', { scope: job.readScope });
  }
  return job;
}

import { useEffect, useMemo, useState } from 'react';
import {
  ConsoleRecommendationModelDocument,
  ConsoleRecomputeJobDocument,
  ConsoleRecomputeScoresDocument,
  ConsoleScoreModelsDocument,
  type ConsoleRecomputeJobQuery,
  type ConsoleScoreModelsQuery,
  type ScoreKind,
} from '../gql/graphql';
import type { Route } from '../router';
import { Chart } from '../ui/Chart';
import { useClient, useQuery } from '../ui/client-context';
import { DataTable } from '../ui/DataTable';
import { Loadable, Panel, formatDateTime, formatNumber } from '../ui/Status';
import './screens.css';

/** How often a running recompute is looked at. */
const POLL_MS = 1000;

type Model = ConsoleScoreModelsQuery['scoreModels'][number];
type Job = NonNullable<ConsoleRecomputeJobQuery['recomputeJob']>;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A figure for a table cell: numbers rounded to what a reader compares, the rest as JSON. */
function show(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? formatNumber(value) : Math.abs(value) >= 1000 ? formatNumber(value, 1) : value.toPrecision(4);
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '—';
  return JSON.stringify(value);
}

/** Rows of name/value for every scalar (or short) entry of an object, nested ones flattened as a.b. */
function flatRows(value: unknown, prefix = '', depth = 0): { name: string; value: unknown }[] {
  if (!isObject(value)) return prefix ? [{ name: prefix, value }] : [];
  return Object.entries(value).flatMap(([key, v]) => {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isObject(v) && depth < 2) return flatRows(v, name, depth + 1);
    return [{ name, value: v }];
  });
}

/**
 * The Models screen: every score model with its settings, fitted parameters
 * and fit diagnostics (the BG/NBD and Gamma-Gamma parameter table, the churn
 * propensity model's AUC, log loss and calibration), a recompute with live
 * progress, and the recommendation model.
 */
export default function Models(_props: { route: Route }) {
  const models = useQuery(ConsoleScoreModelsDocument);
  const recommendation = useQuery(ConsoleRecommendationModelDocument);
  return (
    <>
      <h1>Models</h1>
      <Recompute kinds={models.data?.scoreModels.map((m) => m.kind) ?? []} onDone={models.reload} />
      <Loadable loading={models.loading && !models.data} error={models.error} label="the score models">
        <div className="grid">
          {models.data?.scoreModels.map((model) => (
            <ModelPanel key={model.kind} model={model} />
          ))}
        </div>
      </Loadable>
      <h2 className="section-heading">Recommendations</h2>
      <Loadable loading={recommendation.loading && !recommendation.data} error={recommendation.error} label="the recommendation model">
        {recommendation.data && (
          <div className="grid">
            <Panel title={`Recommendation model (version ${recommendation.data.recommendationModel.version})`} wide>
              <p>
                Fitted: <span>{formatDateTime(recommendation.data.recommendationModel.fittedAt)}</span>
              </p>
              <KeyValues caption="Recommendation settings" value={recommendation.data.recommendationModel.settings} />
              <h3>Diagnostics</h3>
              <KeyValues caption="Recommendation fit diagnostics" value={recommendation.data.recommendationModel.diagnostics} empty="Not fitted yet." />
            </Panel>
          </div>
        )}
      </Loadable>
    </>
  );
}

function KeyValues({ caption, value, empty = 'None.' }: { caption: string; value: unknown; empty?: string }) {
  return (
    <DataTable
      caption={caption}
      empty={empty}
      rows={flatRows(value)}
      columns={[
        { header: 'Name', cell: (r) => <code>{r.name}</code> },
        { header: 'Value', cell: (r) => show(r.value), numeric: false },
      ]}
    />
  );
}

/** The recompute button and the job's progress, polled every second until it ends. */
function Recompute({ kinds, onDone }: { kinds: ScoreKind[]; onDone: () => void }) {
  const client = useClient();
  const [chosen, setChosen] = useState<ScoreKind[]>([]);
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<string>();
  const running = job !== undefined && job.status !== 'COMPLETED' && job.status !== 'FAILED';
  useEffect(() => {
    if (!job || !running) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      client
        .request(ConsoleRecomputeJobDocument, { id: job.id }, controller.signal)
        .then((data) => {
          if (!data.recomputeJob) return setError('The job is gone (finished jobs are kept for an hour).');
          setJob(data.recomputeJob);
          if (data.recomputeJob.status === 'COMPLETED') onDone();
        })
        .catch((e: unknown) => {
          if (!controller.signal.aborted) setError(e instanceof Error ? e.message : String(e));
        });
    }, POLL_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [client, job, running, onDone]);
  const start = async () => {
    setError(undefined);
    try {
      const data = await client.request(ConsoleRecomputeScoresDocument, chosen.length > 0 ? { kinds: chosen } : {});
      setJob({ ...data.recomputeScores, error: null, createdAt: new Date().toISOString(), finishedAt: null });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <Panel title="Recompute scores" wide>
      <fieldset className="inline-form">
        <legend className="visually-hidden">Kinds to recompute (none chosen: every configured kind)</legend>
        {kinds.map((kind) => (
          <label key={kind} className="checkbox">
            <input
              type="checkbox"
              checked={chosen.includes(kind)}
              onChange={(e) => setChosen(e.target.checked ? [...chosen, kind] : chosen.filter((k) => k !== kind))}
            />{' '}
            {kind}
          </label>
        ))}
        <button type="button" onClick={() => void start()} disabled={running}>
          {running ? 'Recomputing…' : chosen.length > 0 ? `Recompute ${chosen.join(', ')}` : 'Recompute all'}
        </button>
      </fieldset>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {job && (
        <div role="status" className="job">
          <label>
            Progress of job {job.id} ({job.kinds.join(', ')}){' '}
            <progress max={100} value={job.progress}>
              {job.progress}%
            </progress>
          </label>{' '}
          <span className={`status status-${job.status.toLowerCase()}`} data-testid="job-status">
            {job.status}
          </span>{' '}
          <span>{job.progress}%</span>
          {job.error && <span className="error"> {job.error}</span>}
          {job.finishedAt && <span className="muted"> finished {formatDateTime(job.finishedAt)}</span>}
        </div>
      )}
    </Panel>
  );
}

/** Fitted parameters as a CDNOW-style table (one row per parameter) or, when nested, name/value rows. */
function parameterRows(model: Model): { name: string; value: unknown }[] {
  const p = model.parameters;
  if (!isObject(p)) return [];
  // CLV: BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma), nested or flat.
  return flatRows(p).filter((r) => !Array.isArray(r.value) || (r.value as unknown[]).length <= 12);
}

interface CalibrationBin {
  count?: number;
  meanPredicted?: number | null;
  observedRate?: number | null;
  from?: number;
  to?: number;
}

function ModelPanel({ model }: { model: Model }) {
  const d = isObject(model.diagnostics) ? model.diagnostics : undefined;
  const cv = d && isObject(d.crossValidation) ? d.crossValidation : undefined;
  const calibration = (cv && Array.isArray(cv.calibration) ? cv.calibration : []) as CalibrationBin[];
  const bins = useMemo(() => calibration.filter((b) => (b.count ?? 0) > 0), [calibration]);
  const option = useMemo(
    () => ({
      grid: { left: 50, right: 20, top: 30, bottom: 40 },
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'value', name: 'predicted', min: 0, max: 1 },
      yAxis: { type: 'value', name: 'observed', min: 0, max: 1 },
      series: [
        { type: 'line', name: 'Observed rate', data: bins.map((b) => [b.meanPredicted, b.observedRate]) },
        {
          type: 'line',
          name: 'Perfect calibration',
          lineStyle: { type: 'dashed' },
          showSymbol: false,
          data: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
    }),
    [bins],
  );
  const rest = d ? Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'crossValidation' && k !== 'coefficients')) : undefined;
  return (
    <Panel title={model.kind} wide={model.kind === 'CHURN_PROPENSITY' || model.kind === 'CLV'}>
      <p className="muted">{model.description}</p>
      <dl className="facts">
        <dt>Version</dt>
        <dd>{model.version}</dd>
        <dt>Fitted</dt>
        <dd>{model.fittedAt ? formatDateTime(model.fittedAt) : 'never'}</dd>
        <dt>Data as of</dt>
        <dd>{formatDateTime(model.asOf)}</dd>
        <dt>Sample</dt>
        <dd>{model.sampleSize == null ? '—' : `${formatNumber(model.sampleSize)} customers`}</dd>
      </dl>
      {cv && (
        <dl className="facts metrics">
          <dt>ROC AUC (cross-validated)</dt>
          <dd data-testid={`${model.kind}-auc`}>{show(cv.rocAuc)}</dd>
          <dt>Log loss</dt>
          <dd>{show(cv.logLoss)}</dd>
          <dt>λ chosen</dt>
          <dd>{show(cv.lambda)}</dd>
          <dt>Folds</dt>
          <dd>{show(cv.folds)}</dd>
        </dl>
      )}
      <h3>Fitted parameters</h3>
      <DataTable
        caption={`${model.kind} fitted parameters`}
        empty="Not fitted yet."
        rows={parameterRows(model)}
        columns={[
          { header: 'Parameter', cell: (r) => <code>{r.name}</code> },
          { header: 'Estimate', cell: (r) => show(r.value), numeric: true },
        ]}
      />
      {bins.length > 0 && (
        <>
          <h3>Calibration</h3>
          <Chart
            title={`${model.kind} calibration: observed rate by predicted probability`}
            option={option}
            rows={calibration}
            columns={[
              { header: 'Bin', cell: (b) => (b.from !== undefined && b.to !== undefined ? `${show(b.from)}–${show(b.to)}` : '') },
              { header: 'Customers', cell: (b) => show(b.count ?? 0), numeric: true },
              { header: 'Mean predicted', cell: (b) => show(b.meanPredicted), numeric: true },
              { header: 'Observed rate', cell: (b) => show(b.observedRate), numeric: true },
            ]}
          />
        </>
      )}
      <h3>Fit diagnostics</h3>
      <KeyValues caption={`${model.kind} fit diagnostics`} value={rest} empty="No diagnostics yet." />
      <details>
        <summary>Settings</summary>
        <KeyValues caption={`${model.kind} settings`} value={model.settings} />
      </details>
    </Panel>
  );
}

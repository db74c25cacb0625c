import { useMemo } from 'react';
import type { Client } from '../client';
import {
  OverviewCountsDocument,
  OverviewInteractionsDocument,
  OverviewScoreDistributionsDocument,
  OverviewSegmentsDocument,
  type BucketFragment,
  type OverviewSegmentsQuery,
} from '../gql/graphql';
import { allNodes } from '../paging';
import { rfmGrid, type RfmGrid } from '../rfm';
import { href, type Route } from '../router';
import { Chart } from '../ui/Chart';
import { useClient, useQuery } from '../ui/client-context';
import { DataTable } from '../ui/DataTable';
import { formatNumber, Loadable, Panel } from '../ui/Status';
import { useAsync } from '../ui/useAsync';

const DAY = 86_400_000;
const WINDOW_DAYS = 30;

/** Midnight UTC, `days` days before today's. */
function dayStart(days: number): Date {
  return new Date(Math.floor(Date.now() / DAY) * DAY - days * DAY);
}

/**
 * What Rapport knows at a glance: headline counts, the last 30 days of
 * interactions by channel, the RFM grid, each score kind's distribution and
 * the segments that moved most this week.
 */
export default function Overview(_props: { route: Route }) {
  const since = useMemo(() => dayStart(WINDOW_DAYS - 1).toISOString(), []);
  const counts = useQuery(OverviewCountsDocument, { since });
  const c = counts.data;
  return (
    <>
      <h1>Overview</h1>
      <Loadable loading={counts.loading} error={counts.error} label="the counts">
        {c && (
          <div className="kpis" aria-label="Headline counts" role="group">
            <Kpi label="Customers" value={c.customers.totalCount} />
            <Kpi label={`Active customers (${WINDOW_DAYS} days)`} value={c.active.totalCount} />
            <Kpi label="Customers with an RFM score" value={c.rfmScored.totalCount} />
          </div>
        )}
      </Loadable>
      <div className="grid">
        <InteractionsPanel since={since} />
        <RfmPanel />
        <ScoresPanel />
        <MovementsPanel />
      </div>
    </>
  );
}

function Kpi({ label, value }: { label: string; value: number }) {
  return (
    <div className="kpi">
      <div className="value">{formatNumber(value)}</div>
      <div className="label">{label}</div>
    </div>
  );
}

interface DayRow {
  day: string;
  total: number;
  byChannel: Record<string, number>;
}

async function interactionsPerDay(client: Client, since: string, signal: AbortSignal): Promise<{ days: DayRow[]; channels: string[]; capped: boolean }> {
  const { nodes, capped } = await allNodes(client, OverviewInteractionsDocument, { since }, (d) => d.interactions, { cap: 50_000, signal });
  const days: DayRow[] = [];
  const index = new Map<string, DayRow>();
  for (let i = WINDOW_DAYS - 1; i >= 0; i--) {
    const day = dayStart(i).toISOString().slice(0, 10);
    const row = { day, total: 0, byChannel: {} };
    days.push(row);
    index.set(day, row);
  }
  const channels = new Set<string>();
  for (const node of nodes) {
    const row = index.get(node.occurredAt.slice(0, 10));
    if (!row) continue;
    channels.add(node.channel);
    row.byChannel[node.channel] = (row.byChannel[node.channel] ?? 0) + 1;
    row.total++;
  }
  return { days, channels: [...channels].sort(), capped };
}

function InteractionsPanel({ since }: { since: string }) {
  const client = useClient();
  const state = useAsync((signal) => interactionsPerDay(client, since, signal), [client, since]);
  const option = useMemo(() => {
    if (!state.data) return undefined;
    const { days, channels } = state.data;
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', boundaryGap: false, data: days.map((d) => d.day.slice(5)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: channels.map((channel) => ({
        name: channel,
        type: 'line',
        stack: 'total',
        areaStyle: {},
        symbol: 'none',
        emphasis: { focus: 'series' },
        data: days.map((d) => d.byChannel[channel] ?? 0),
      })),
    };
  }, [state.data]);
  const data = state.data;
  return (
    <Panel title={`Interactions per day by channel (last ${WINDOW_DAYS} days)`} wide>
      <Loadable loading={state.loading} error={state.error} label="interactions">
        {data && option && (
          <>
            <Chart
              title="Interactions per day, stacked by channel"
              option={option}
              rows={data.days}
              columns={[
                { header: 'Day', cell: (d) => d.day },
                ...data.channels.map((ch) => ({ header: ch, numeric: true, cell: (d: DayRow) => formatNumber(d.byChannel[ch] ?? 0) })),
                { header: 'Total', numeric: true, cell: (d) => formatNumber(d.total) },
              ]}
            />
            {data.capped && <p className="muted">Only the first 50,000 interactions of the window are counted.</p>}
          </>
        )}
      </Loadable>
    </Panel>
  );
}

const RECENCY = [5, 4, 3, 2, 1];
const FREQUENCY = [1, 2, 3, 4, 5];

/** A blue ramp by share of the largest cell; text stays dark or light to keep its contrast. */
function cellColours(count: number, max: number): { background: string; color: string } {
  const t = max > 0 ? count / max : 0;
  const lightness = 96 - t * 58;
  return { background: `hsl(214 70% ${lightness}%)`, color: lightness < 60 ? '#fff' : '#1d2330' };
}

function RfmPanel() {
  const client = useClient();
  const state = useAsync(() => rfmGrid(client, { refresh: true }), [client]);
  return (
    <Panel title="RFM grid: recency × frequency quintiles">
      <Loadable loading={state.loading} error={state.error} label="the RFM grid">
        {state.data && <RfmTable grid={state.data} />}
      </Loadable>
    </Panel>
  );
}

function RfmTable({ grid }: { grid: RfmGrid }) {
  const max = Math.max(...grid.cells.flat().map((ids) => ids.length));
  const placed = grid.cells.flat().reduce((n, ids) => n + ids.length, 0);
  return (
    <>
      <table className="rfm" aria-describedby="rfm-help">
        <caption className="visually-hidden">Customers by recency quintile (rows, 5 = most recent) and frequency quintile (columns, 5 = most frequent)</caption>
        <thead>
          <tr>
            <td />
            {FREQUENCY.map((f) => (
              <th key={f} scope="col">
                F{f}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {RECENCY.map((r) => (
            <tr key={r}>
              <th scope="row">R{r}</th>
              {FREQUENCY.map((f) => {
                const count = grid.cells[r - 1]?.[f - 1]?.length ?? 0;
                return (
                  <td key={f} className="rfm-cell" style={cellColours(count, max)} data-r={r} data-f={f}>
                    <a href={`${href('customers')}?rfm=${r}-${f}`} style={{ color: 'inherit' }} aria-label={`Recency ${r}, frequency ${f}: ${count} customers`}>
                      <span className="rfm-code">
                        R{r} F{f}
                      </span>
                      <span className="rfm-count">{formatNumber(count)}</span>
                    </a>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <p id="rfm-help" className="muted">
        {formatNumber(placed)} of {formatNumber(grid.totalCount)} customers with an RFM score. Each cell shows its count and links to its customers; darker
        cells hold more.
      </p>
    </>
  );
}

const KINDS: { key: 'rfm' | 'clv' | 'churnRisk' | 'churnPropensity' | 'engagement'; label: string; digits: number }[] = [
  { key: 'rfm', label: 'RFM (mean of R, F, M)', digits: 1 },
  { key: 'clv', label: 'Customer lifetime value', digits: 0 },
  { key: 'churnRisk', label: 'Churn risk', digits: 2 },
  { key: 'churnPropensity', label: 'Churn propensity', digits: 2 },
  { key: 'engagement', label: 'Engagement', digits: 0 },
];

function ScoresPanel() {
  const state = useQuery(OverviewScoreDistributionsDocument);
  return (
    <Panel title="Score distributions" wide>
      <Loadable loading={state.loading} error={state.error} label="score distributions">
        {state.data && (
          <div className="score-grid">
            {KINDS.map((k) => (
              <Distribution key={k.key} label={k.label} digits={k.digits} buckets={state.data?.[k.key] ?? []} />
            ))}
          </div>
        )}
      </Loadable>
    </Panel>
  );
}

function Distribution({ label, digits, buckets }: { label: string; digits: number; buckets: BucketFragment[] }) {
  const range = (b: BucketFragment) => `${formatNumber(b.lower, digits)}–${formatNumber(b.upper, digits)}`;
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 40, right: 8, top: 10, bottom: 40 },
      xAxis: { type: 'category', data: buckets.map(range), axisLabel: { rotate: 30, fontSize: 10 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name: 'Customers', data: buckets.map((b) => b.count) }],
    }),
    [buckets, digits],
  );
  const total = buckets.reduce((n, b) => n + b.count, 0);
  if (total === 0)
    return (
      <div>
        <h3>{label}</h3>
        <p className="muted">No scores of this kind yet.</p>
      </div>
    );
  return (
    <div>
      <h3>{label}</h3>
      <Chart
        title={`${label}: customers per score range`}
        option={option}
        height={200}
        rows={buckets}
        columns={[
          { header: 'Score range', cell: range },
          { header: 'Customers', numeric: true, cell: (b) => formatNumber(b.count) },
        ]}
      />
    </div>
  );
}

type SegmentNode = OverviewSegmentsQuery['segments']['edges'][number]['node'];

interface Movement {
  segment: SegmentNode;
  before: number;
  change: number;
  isNew: boolean;
}

/** Size change over the last seven days: from the last recorded size at or before a week ago (0 for a segment created since). */
function movements(segments: SegmentNode[]): Movement[] {
  const weekAgo = Date.now() - 7 * DAY;
  return segments
    .map((segment) => {
      const isNew = Date.parse(segment.createdAt) > weekAgo;
      const earlier = segment.sizeHistory.filter((p) => Date.parse(p.recordedAt) <= weekAgo);
      const before = isNew ? 0 : (earlier.at(-1)?.size ?? segment.sizeHistory[0]?.size ?? segment.size);
      return { segment, before, change: segment.size - before, isNew };
    })
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || a.segment.name.localeCompare(b.segment.name))
    .slice(0, 8);
}

function MovementsPanel() {
  const state = useQuery(OverviewSegmentsDocument);
  const rows = useMemo(() => movements(state.data?.segments.edges.map((e) => e.node) ?? []), [state.data]);
  return (
    <Panel title="Biggest segment movements this week">
      <Loadable loading={state.loading} error={state.error} label="segments">
        <DataTable
          caption="Segments by size change over the last seven days"
          rows={rows}
          empty="No segments yet."
          columns={[
            { header: 'Segment', cell: (m) => <a href={href('segments', m.segment.id)}>{m.segment.name}</a> },
            { header: 'Size now', numeric: true, cell: (m) => formatNumber(m.segment.size) },
            { header: 'A week ago', numeric: true, cell: (m) => (m.isNew ? 'new' : formatNumber(m.before)) },
            { header: 'Change', numeric: true, cell: (m) => `${m.change > 0 ? '+' : m.change < 0 ? '−' : '±'}${formatNumber(Math.abs(m.change))}` },
          ]}
        />
      </Loadable>
    </Panel>
  );
}

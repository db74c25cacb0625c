import { useMemo, useState, type FormEvent } from 'react';
import { GraphQLRequestError } from '../client';
import {
  Customer360AlertsDocument,
  Customer360InteractionsDocument,
  Customer360OrganizationDocument,
  Customer360ProfileDocument,
  Customer360RecommendationsDocument,
  Customer360ScoresDocument,
  Customer360SegmentsDocument,
  CustomerByIdentifier360Document,
  CustomersByIdsDocument,
  CustomerSearchDocument,
  type Customer360ScoresQuery,
  type CustomerFilter,
  type CustomerRowFragment,
} from '../gql/graphql';
import { rfmGrid } from '../rfm';
import { href, navigate, type Route } from '../router';
import { Chart } from '../ui/Chart';
import { useClient, useQuery } from '../ui/client-context';
import { DataTable } from '../ui/DataTable';
import { ChannelLabel, entriesOf, showValue } from '../ui/format';
import { formatDate, formatDateTime, formatNumber, Loadable, Panel } from '../ui/Status';
import { useAsync } from '../ui/useAsync';

/**
 * Customer 360: find a customer by name or identifier (or from an RFM cell of
 * the Overview), then everything Rapport knows about them, each part from its
 * own query so a part the key may not read does not hide the rest.
 */
export default function Customer360({ route }: { route: Route }) {
  const id = route.parts[1];
  return id ? <CustomerDetail id={id} /> : <CustomerFinder rfm={route.params.get('rfm') ?? undefined} />;
}

const SEARCH_KINDS = [
  { value: 'name', label: 'Name' },
  { value: 'EMAIL', label: 'Email' },
  { value: 'PHONE', label: 'Phone' },
  { value: 'other', label: 'Other identifier (type:value)' },
] as const;

function CustomerFinder({ rfm }: { rfm?: string }) {
  const client = useClient();
  const [by, setBy] = useState<string>('name');
  const [text, setText] = useState('');
  const [filter, setFilter] = useState<CustomerFilter | undefined>();
  const [problem, setProblem] = useState<string>();

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    const q = text.trim();
    if (!q) return setFilter(undefined);
    if (by === 'name') return setFilter({ displayName: { contains: q } });
    const [type, value] = by === 'other' ? [q.slice(0, q.indexOf(':')), q.slice(q.indexOf(':') + 1)] : [by, q];
    if (!type || !value) return setProblem('Write the identifier as type:value, e.g. shopify:1234.');
    try {
      const found = await client.request(CustomerByIdentifier360Document, { identifier: { type, value } });
      if (found.customer) navigate(href('customers', found.customer.id));
      else setProblem(`No customer has the ${type} identifier “${value}”.`);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <>
      <h1>Customer 360</h1>
      <form className="search" role="search" onSubmit={search}>
        <label htmlFor="search-by">Search by</label>
        <select id="search-by" value={by} onChange={(e) => setBy(e.target.value)}>
          {SEARCH_KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
        <label htmlFor="search-text" className="visually-hidden">
          Search text
        </label>
        <input id="search-text" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Ada, ada@example.com…" />
        <button type="submit">Search</button>
      </form>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {rfm && !filter ? <RfmCellList cell={rfm} /> : <SearchResults filter={filter} />}
    </>
  );
}

function CustomerList({ caption, rows, totalCount }: { caption: string; rows: CustomerRowFragment[]; totalCount: number }) {
  return (
    <Panel title={caption} wide>
      <p className="muted">
        {formatNumber(totalCount)} customer{totalCount === 1 ? '' : 's'}
        {totalCount > rows.length ? `, the first ${rows.length} shown` : ''}.
      </p>
      <DataTable
        caption={caption}
        rows={rows}
        empty="No customers match."
        columns={[
          { header: 'Customer', cell: (c) => <a href={href('customers', c.id)}>{c.displayName ?? `#${c.id}`}</a> },
          { header: 'Kind', cell: (c) => c.kind.toLowerCase() },
          { header: 'Lifecycle', cell: (c) => c.lifecycleStage ?? '—' },
          { header: 'Last seen', cell: (c) => formatDate(c.stats.lastSeenAt) },
          { header: 'Interactions', numeric: true, cell: (c) => formatNumber(c.stats.interactionCount) },
          { header: 'Spend', numeric: true, cell: (c) => formatNumber(c.stats.transactionValue, 2) },
        ]}
      />
    </Panel>
  );
}

function SearchResults({ filter }: { filter?: CustomerFilter }) {
  const state = useQuery(CustomerSearchDocument, { filter, first: 25 });
  const forbidden = state.error instanceof GraphQLRequestError && state.error.code === 'FORBIDDEN';
  return (
    <Loadable
      loading={state.loading}
      error={forbidden ? new Error('searching by name needs a key with pii:read; search by an identifier instead') : state.error}
      label="customers"
    >
      {state.data && (
        <CustomerList
          caption={filter ? 'Customers matching the search' : 'Recently seen customers'}
          rows={state.data.customers.edges.map((e) => e.node)}
          totalCount={state.data.customers.totalCount}
        />
      )}
    </Loadable>
  );
}

function RfmCellList({ cell }: { cell: string }) {
  const client = useClient();
  const [r, f] = cell.split('-').map(Number);
  const state = useAsync(
    async (signal) => {
      const grid = await rfmGrid(client);
      const ids = (r && f && grid.cells[r - 1]?.[f - 1]) || [];
      if (ids.length === 0) return { rows: [], totalCount: 0 };
      const page = await client.request(CustomersByIdsDocument, { ids: ids.slice(0, 500), first: 50 }, signal);
      return { rows: page.customers.edges.map((e) => e.node), totalCount: ids.length };
    },
    [client, cell],
  );
  return (
    <Loadable loading={state.loading} error={state.error} label="the cell's customers">
      {state.data && <CustomerList caption={`RFM cell R${r} F${f}: recency quintile ${r}, frequency quintile ${f}`} {...state.data} />}
    </Loadable>
  );
}

function CustomerDetail({ id }: { id: string }) {
  const profile = useQuery(Customer360ProfileDocument, { id });
  const customer = profile.data?.customer;
  return (
    <>
      <p>
        <a href={href('customers')}>← All customers</a>
      </p>
      <Loadable loading={profile.loading} error={profile.error} label="the customer">
        {profile.data && !customer && <p role="alert">No customer #{id}.</p>}
        {customer && (
          <>
            <h1>
              Customer 360: {customer.displayName ?? `#${customer.id}`} <span className="muted">({customer.kind.toLowerCase()})</span>
            </h1>
            <div className="grid">
              <Panel title="Profile">
                <dl className="facts">
                  <dt>Id</dt>
                  <dd>{customer.id}</dd>
                  <dt>Lifecycle stage</dt>
                  <dd>{customer.lifecycleStage ?? '—'}</dd>
                  <dt>Owner</dt>
                  <dd>{customer.owner ?? '—'}</dd>
                  <dt>Created</dt>
                  <dd>{formatDateTime(customer.createdAt)}</dd>
                  <dt>Updated</dt>
                  <dd>{formatDateTime(customer.updatedAt)}</dd>
                </dl>
                <h3>Stats</h3>
                <dl className="facts">
                  <dt>Interactions</dt>
                  <dd>{formatNumber(customer.stats.interactionCount)}</dd>
                  <dt>Transactions</dt>
                  <dd>{formatNumber(customer.stats.transactionCount)}</dd>
                  <dt>Spend</dt>
                  <dd>{formatNumber(customer.stats.transactionValue, 2)}</dd>
                  <dt>First seen</dt>
                  <dd>{formatDate(customer.stats.firstSeenAt)}</dd>
                  <dt>Last seen</dt>
                  <dd>{formatDate(customer.stats.lastSeenAt)}</dd>
                  <dt>By channel</dt>
                  <dd>
                    {entriesOf(customer.stats.channels).map(([channel, n]) => (
                      <span key={channel} className="chip">
                        <ChannelLabel channel={channel} />: {showValue(n)}
                      </span>
                    ))}
                  </dd>
                </dl>
              </Panel>
              <Panel title="Traits">
                <DataTable
                  caption="Traits"
                  rows={entriesOf(customer.traits)}
                  empty="No traits."
                  columns={[
                    { header: 'Trait', cell: ([k]) => <code>{k}</code> },
                    { header: 'Value', cell: ([, v]) => <span className="trait-value">{showValue(v)}</span> },
                  ]}
                />
                <p className="muted">Personal values show as ••• for a key without pii:read.</p>
              </Panel>
              <Panel title="Identifiers">
                <DataTable
                  caption="Identifiers"
                  rows={customer.identifiers}
                  empty="No identifiers."
                  columns={[
                    { header: 'Type', cell: (i) => i.type },
                    { header: 'Value', cell: (i) => i.value },
                    { header: 'Since', cell: (i) => formatDate(i.createdAt) },
                  ]}
                />
              </Panel>
              <Panel title="Consents">
                <DataTable
                  caption="Consents"
                  rows={customer.consents}
                  empty="No consents recorded."
                  columns={[
                    { header: 'Channel', cell: (c) => <ChannelLabel channel={c.channel} /> },
                    { header: 'Purpose', cell: (c) => c.purpose },
                    { header: 'Status', cell: (c) => c.status.toLowerCase() },
                    { header: 'Source', cell: (c) => c.source },
                    { header: 'Recorded', cell: (c) => formatDate(c.recordedAt) },
                  ]}
                />
              </Panel>
              <ScoresPanel id={id} />
              <InteractionsPanel id={id} />
              <SegmentsPanel id={id} />
              <RecommendationsPanel id={id} />
              <AlertsPanel id={id} />
              <OrganizationPanel id={id} />
            </div>
          </>
        )}
      </Loadable>
    </>
  );
}

function InteractionsPanel({ id }: { id: string }) {
  const state = useQuery(Customer360InteractionsDocument, { id, first: 30 });
  const connection = state.data?.customer?.interactions;
  return (
    <Panel title="Interactions timeline" wide>
      <Loadable loading={state.loading} error={state.error} label="interactions">
        {connection && (
          <>
            <p className="muted">
              The latest {connection.edges.length} of {formatNumber(connection.totalCount)}.
            </p>
            <ol className="timeline" tabIndex={0} aria-label="Interactions, latest first">
              {connection.edges.map(({ node: i }) => (
                <li key={i.id}>
                  <time dateTime={i.occurredAt}>{formatDateTime(i.occurredAt)}</time>
                  <ChannelLabel channel={i.channel} />
                  <span className="timeline-type">{i.type}</span>
                  {i.direction && <span className="muted">{i.direction.toLowerCase()}</span>}
                  {i.value !== null && (
                    <span>
                      {formatNumber(i.value, 2)} {i.currency ?? ''}
                    </span>
                  )}
                  {i.sentiment !== null && <span className="muted">sentiment {formatNumber(i.sentiment, 2)}</span>}
                  <span className="muted">via {i.source}</span>
                </li>
              ))}
            </ol>
          </>
        )}
      </Loadable>
    </Panel>
  );
}

type ScoreRow = NonNullable<Customer360ScoresQuery['customer']>['scores'][number];

function Sparkline({ score }: { score: ScoreRow }) {
  const points = useMemo(() => [...score.history].sort((a, b) => a.recordedAt.localeCompare(b.recordedAt)), [score.history]);
  const option = useMemo(
    () => ({
      grid: { left: 4, right: 4, top: 6, bottom: 6 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', show: false, data: points.map((p) => formatDate(p.recordedAt)) },
      yAxis: { type: 'value', show: false, scale: true },
      series: [{ type: 'line', data: points.map((p) => p.value), symbol: 'circle', symbolSize: 4, lineStyle: { width: 1.5 } }],
    }),
    [points],
  );
  return (
    <Chart
      title={`${score.kind} history`}
      option={option}
      height={60}
      rows={points}
      columns={[
        { header: 'Recorded', cell: (p) => formatDateTime(p.recordedAt) },
        { header: 'Value', numeric: true, cell: (p) => formatNumber(p.value, 2) },
        { header: 'Label', cell: (p) => p.label ?? '—' },
      ]}
    />
  );
}

function ScoresPanel({ id }: { id: string }) {
  const state = useQuery(Customer360ScoresDocument, { id });
  const scores = state.data?.customer?.scores ?? [];
  return (
    <Panel title="Scores" wide>
      <Loadable loading={state.loading} error={state.error} label="scores">
        {scores.length === 0 && <p className="muted">No scores yet.</p>}
        <div className="score-grid">
          {scores.map((s) => (
            <article key={s.kind} className="score-card" aria-label={`${s.kind} score`}>
              <h3>
                {s.kind}: {formatNumber(s.value, 2)} {s.label && <span className="badge">{s.label}</span>}
              </h3>
              <p className="muted">
                Computed {formatDate(s.computedAt)}, changed {formatDate(s.changedAt)}, model v{s.modelVersion}
              </p>
              <Sparkline score={s} />
              <details>
                <summary>Explanation</summary>
                <DataTable
                  caption={`${s.kind} components`}
                  rows={entriesOf(s.components)}
                  empty="No components."
                  columns={[
                    { header: 'Component', cell: ([k]) => <code>{k}</code> },
                    { header: 'Value', cell: ([, v]) => showValue(v) },
                  ]}
                />
              </details>
            </article>
          ))}
        </div>
      </Loadable>
    </Panel>
  );
}

function SegmentsPanel({ id }: { id: string }) {
  const state = useQuery(Customer360SegmentsDocument, { id });
  const customer = state.data?.customer;
  return (
    <Panel title="Segments">
      <Loadable loading={state.loading} error={state.error} label="segments">
        {customer && (
          <>
            {customer.segments.length === 0 ? (
              <p className="muted">In no segment.</p>
            ) : (
              <ul className="chips">
                {customer.segments.map((s) => (
                  <li key={s.id}>
                    <a href={href('segments', s.id)}>{s.name}</a> <span className="muted">({s.kind.toLowerCase()})</span>
                  </li>
                ))}
              </ul>
            )}
            <h3>History</h3>
            <DataTable
              caption="Segment membership history"
              rows={customer.segmentHistory}
              empty="No membership changes recorded."
              columns={[
                { header: 'When', cell: (e) => formatDateTime(e.occurredAt) },
                { header: 'Change', cell: (e) => (e.kind === 'ENTERED' ? 'entered' : 'left') },
                { header: 'Segment', cell: (e) => <a href={href('segments', e.segment.id)}>{e.segment.name}</a> },
              ]}
            />
          </>
        )}
      </Loadable>
    </Panel>
  );
}

/** A part the key may not read says so instead of failing the page. */
function refusal(error: Error | undefined): Error | undefined {
  if (error instanceof GraphQLRequestError && error.code === 'FORBIDDEN') return new Error(`this key may not read it (${error.message})`);
  return error;
}

function RecommendationsPanel({ id }: { id: string }) {
  const state = useQuery(Customer360RecommendationsDocument, { id });
  const rows = state.data?.customer?.recommendations ?? [];
  return (
    <Panel title="Recommendations">
      <Loadable loading={state.loading} error={refusal(state.error)} label="recommendations">
        <DataTable
          caption="Recommended products"
          rows={rows}
          empty="No recommendations for this customer."
          columns={[
            { header: 'Rank', numeric: true, cell: (r) => r.rank },
            { header: 'Product', cell: (r) => r.product },
            { header: 'Basis', cell: (r) => r.basis.toLowerCase().replace(/_/g, ' ') },
            { header: 'Because', cell: (r) => r.because.map((b) => b.text).join('; ') || '—' },
          ]}
        />
      </Loadable>
    </Panel>
  );
}

function AlertsPanel({ id }: { id: string }) {
  const state = useQuery(Customer360AlertsDocument, { id });
  const rows = state.data?.customer?.alerts.edges.map((e) => e.node) ?? [];
  return (
    <Panel title="Alerts">
      <Loadable loading={state.loading} error={refusal(state.error)} label="alerts">
        <DataTable
          caption="Alerts about this customer"
          rows={rows}
          empty="No alerts about this customer."
          columns={[
            { header: 'Fired', cell: (a) => formatDateTime(a.firedAt) },
            { header: 'Rule', cell: (a) => a.ruleName },
            { header: 'Trigger', cell: (a) => a.trigger.toLowerCase().replace(/_/g, ' ') },
            { header: 'Status', cell: (a) => a.status.toLowerCase() },
            { header: 'Value', numeric: true, cell: (a) => (a.value === null ? '—' : formatNumber(a.value, 2)) },
          ]}
        />
      </Loadable>
    </Panel>
  );
}

function OrganizationPanel({ id }: { id: string }) {
  const state = useQuery(Customer360OrganizationDocument, { id });
  const customer = state.data?.customer;
  return (
    <Panel title={customer?.kind === 'ORGANIZATION' ? 'Members' : 'Organisation'}>
      <Loadable loading={state.loading} error={refusal(state.error)} label="the organisation">
        {customer && customer.kind !== 'ORGANIZATION' && (
          <p>
            {customer.organization ? (
              <a href={href('customers', customer.organization.id)}>{customer.organization.displayName ?? `#${customer.organization.id}`}</a>
            ) : (
              <span className="muted">Belongs to no organisation.</span>
            )}
          </p>
        )}
        {customer?.kind === 'ORGANIZATION' && (
          <>
            <p className="muted">{formatNumber(customer.members.totalCount)} members.</p>
            <DataTable
              caption="Members"
              rows={customer.members.edges.map((e) => e.node)}
              empty="No members."
              columns={[
                { header: 'Member', cell: (m) => <a href={href('customers', m.id)}>{m.displayName ?? `#${m.id}`}</a> },
                { header: 'Lifecycle', cell: (m) => m.lifecycleStage ?? '—' },
              ]}
            />
          </>
        )}
      </Loadable>
    </Panel>
  );
}

import { useEffect, useMemo, useState, type FormEvent } from 'react';
import {
  ConsoleCreateSegmentDocument,
  ConsoleCreateSegmentFromTemplateDocument,
  ConsoleExplainMembershipDocument,
  ConsolePreviewSegmentDocument,
  ConsoleSegmentDocument,
  ConsoleSegmentTemplatesDocument,
  ConsoleSegmentsDocument,
  type ConsoleExplainMembershipQuery,
  type ConsolePreviewSegmentQuery,
  type SegmentKind,
  type SegmentRuleInput,
} from '../gql/graphql';
import { GraphQLRequestError } from '../client';
import { href, navigate, type Route } from '../router';
import { Chart } from '../ui/Chart';
import { useClient, useQuery } from '../ui/client-context';
import { DataTable } from '../ui/DataTable';
import { Loadable, Panel, formatDateTime, formatNumber } from '../ui/Status';
import { RuleEditor } from './segments/RuleEditor';
import { fromRule, newNode, problemsOf, toRule, type RuleProblem, type UiNode } from './segments/rule';
import './screens.css';

/** How long the editor waits after the last change before asking for a preview. */
const PREVIEW_DEBOUNCE_MS = 400;

/**
 * The segment builder: #/segments lists the segments beside the rule editor
 * (live preview, templates, save); #/segments/<id> shows one segment, its
 * size history and why a customer is or is not in it.
 */
export default function Segments({ route }: { route: Route }) {
  const id = route.parts[1];
  const list = useQuery(ConsoleSegmentsDocument);
  const segments = useMemo(() => list.data?.segments.edges.map((e) => e.node) ?? [], [list.data]);
  const [seed, setSeed] = useState<{ rule: UiNode; key: number }>(() => ({ rule: initialRule(), key: 0 }));
  const edit = (rule: unknown) => {
    setSeed((s) => ({ rule: fromRule(rule), key: s.key + 1 }));
    navigate(href('segments'));
  };
  return (
    <>
      <h1>Segments</h1>
      {id ? (
        <SegmentDetail id={id} onEdit={edit} />
      ) : (
        <div className="grid">
          <Panel title={`Segments${list.data ? ` (${list.data.segments.totalCount})` : ''}`} wide>
            <Loadable loading={list.loading && !list.data} error={list.error} label="segments">
              <DataTable
                caption="Segments"
                empty="No segments yet: build one below."
                rows={segments}
                columns={[
                  { header: 'Name', cell: (s) => <a href={href('segments', s.id)}>{s.name}</a> },
                  { header: 'Kind', cell: (s) => s.kind },
                  { header: 'Status', cell: (s) => <span className={`status status-${s.status.toLowerCase()}`}>{s.status}</span> },
                  { header: 'Members', cell: (s) => formatNumber(s.size), numeric: true },
                  { header: 'Refreshed', cell: (s) => formatDateTime(s.refreshedAt) },
                ]}
              />
            </Loadable>
          </Panel>
          <Builder
            key={seed.key}
            initial={seed.rule}
            segments={segments}
            onSaved={list.reload}
            onTemplate={(rule) => setSeed((s) => ({ rule: fromRule(rule), key: s.key + 1 }))}
          />
        </div>
      )}
    </>
  );
}

function initialRule(): UiNode {
  const root = newNode('and');
  return root;
}

type Preview = ConsolePreviewSegmentQuery['previewSegment'];

/** The editor with its live preview, the templates and the save form. */
function Builder({
  initial,
  segments,
  onSaved,
  onTemplate,
}: {
  initial: UiNode;
  segments: { id: string; name: string }[];
  onSaved: () => void;
  onTemplate: (rule: unknown) => void;
}) {
  const client = useClient();
  const [root, setRoot] = useState(initial);
  const built = useMemo(() => toRule(root), [root]);
  const ruleJson = built.rule ? JSON.stringify(built.rule) : undefined;
  const [preview, setPreview] = useState<{ rule: string; result?: Preview; problems: RuleProblem[]; error?: string }>();
  const [busy, setBusy] = useState(false);

  // The live preview: the rule as it stands PREVIEW_DEBOUNCE_MS after the last edit; an edit meanwhile cancels the request.
  useEffect(() => {
    if (!ruleJson) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      setBusy(true);
      client
        .request(ConsolePreviewSegmentDocument, { rule: JSON.parse(ruleJson) as SegmentRuleInput }, controller.signal)
        .then((data) => setPreview({ rule: ruleJson, result: data.previewSegment, problems: [] }))
        .catch((error: unknown) => {
          if (controller.signal.aborted) return;
          const problems = problemsOf(error);
          setPreview({ rule: ruleJson, problems: problems ?? [], error: problems ? undefined : error instanceof Error ? error.message : String(error) });
        })
        .finally(() => {
          if (!controller.signal.aborted) setBusy(false);
        });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [client, ruleJson]);

  const current = preview && preview.rule === ruleJson ? preview : undefined;
  const problems = built.rule ? (current?.problems ?? []) : built.problems;

  return (
    <>
      <Panel title="Rule" wide>
        <p className="muted">
          Build the rule from groups and conditions; the count and sample below follow it as you type. Values read as JSON when they can (<code>42</code>,{' '}
          <code>true</code>, <code>&quot;5&quot;</code>), else as text.
        </p>
        <RuleEditor root={root} onChange={setRoot} problems={problems} segments={segments} />
      </Panel>
      <Panel title="Preview">
        <output className="preview-count" aria-live="polite" aria-busy={busy}>
          {!built.rule ? (
            <span className="error">Finish the rule to preview it.</span>
          ) : current?.result ? (
            <>
              <strong data-testid="preview-count">{formatNumber(current.result.count)}</strong> customers match
            </>
          ) : current && (current.problems.length > 0 || current.error) ? (
            <span className="error">{current.error ?? `The rule has ${current.problems.length} problem(s), shown beside the conditions.`}</span>
          ) : (
            <span className="muted">Previewing…</span>
          )}
        </output>
        {current?.result && (
          <DataTable
            caption="Sample of matching customers"
            hideCaption={false}
            rows={current.result.sample}
            empty="No customer matches."
            columns={[
              { header: 'Customer', cell: (c) => <a href={href('customers', c.id)}>{c.displayName ?? c.id}</a> },
              { header: 'Kind', cell: (c) => c.kind },
              { header: 'Email', cell: (c) => c.identifiers.find((i) => i.type === 'email')?.value ?? '—' },
            ]}
          />
        )}
      </Panel>
      <SaveForm rule={built.rule} onSaved={onSaved} />
      <Templates onUse={onTemplate} />
    </>
  );
}

function SaveForm({ rule, onSaved }: { rule?: SegmentRuleInput; onSaved: () => void }) {
  const client = useClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [kind, setKind] = useState<SegmentKind>('DYNAMIC');
  const [error, setError] = useState<string>();
  const [saving, setSaving] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return setError('A name is needed.');
    if (kind === 'DYNAMIC' && !rule) return setError('Finish the rule first.');
    setSaving(true);
    setError(undefined);
    try {
      const input = { name: name.trim(), kind, ...(description.trim() ? { description: description.trim() } : {}), ...(kind === 'DYNAMIC' ? { rule } : {}) };
      const data = await client.request(ConsoleCreateSegmentDocument, { input });
      onSaved();
      navigate(href('segments', data.createSegment.id));
    } catch (e) {
      const problems = problemsOf(e);
      setError(problems ? problems.map((p) => `${p.field}: ${p.message}`).join('; ') : e instanceof Error ? e.message : String(e));
    } finally {
      setSaving(false);
    }
  };
  return (
    <Panel title="Save">
      <form className="stack" onSubmit={submit} noValidate>
        <label>
          <span>Name</span>
          <input value={name} required onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          <span>Description</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <fieldset className="inline">
          <legend>Kind</legend>
          <label>
            <input type="radio" name="segment-kind" checked={kind === 'DYNAMIC'} onChange={() => setKind('DYNAMIC')} /> Dynamic: members follow the rule
          </label>
          <label>
            <input type="radio" name="segment-kind" checked={kind === 'STATIC'} onChange={() => setKind('STATIC')} /> Static: a hand-picked list (the rule is
            not kept; add members with addToSegment)
          </label>
        </fieldset>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={saving}>
          {saving ? 'Saving…' : 'Save segment'}
        </button>
      </form>
    </Panel>
  );
}

function Templates({ onUse }: { onUse: (rule: unknown) => void }) {
  const client = useClient();
  const templates = useQuery(ConsoleSegmentTemplatesDocument);
  const [error, setError] = useState<string>();
  const create = async (key: string) => {
    setError(undefined);
    try {
      const data = await client.request(ConsoleCreateSegmentFromTemplateDocument, { key });
      navigate(href('segments', data.createSegmentFromTemplate.id));
    } catch (e) {
      setError(
        e instanceof GraphQLRequestError && e.code === 'CONFLICT' ? 'A segment of that name exists already.' : e instanceof Error ? e.message : String(e),
      );
    }
  };
  return (
    <Panel title="Templates" wide>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <Loadable loading={templates.loading} error={templates.error} label="templates">
        <DataTable
          caption="Segment templates"
          rows={templates.data?.segmentTemplates ?? []}
          columns={[
            { header: 'Template', cell: (t) => t.name },
            { header: 'What it is', cell: (t) => t.description },
            {
              header: 'Use',
              cell: (t) => (
                <span className="actions">
                  <button type="button" className="link-button" aria-label={`Edit template ${t.name}`} onClick={() => onUse(t.rule)}>
                    Edit
                  </button>
                  <button type="button" className="link-button" aria-label={`Create segment from template ${t.name}`} onClick={() => void create(t.key)}>
                    Create
                  </button>
                </span>
              ),
            },
          ]}
        />
      </Loadable>
    </Panel>
  );
}

function SegmentDetail({ id, onEdit }: { id: string; onEdit: (rule: unknown) => void }) {
  const { data, error, loading, reload } = useQuery(ConsoleSegmentDocument, { id });
  const segment = data?.segment;
  // A segment just created fills in the background: look again until it is FRESH.
  useEffect(() => {
    if (!segment || segment.status === 'FRESH') return;
    const timer = setTimeout(reload, 1000);
    return () => clearTimeout(timer);
  }, [segment, reload]);
  const history = useMemo(() => segment?.sizeHistory ?? [], [segment]);
  const option = useMemo(
    () => ({
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: 'members', minInterval: 1 },
      series: [{ type: 'line', name: 'Members', step: 'end', showSymbol: history.length < 40, data: history.map((p) => [p.recordedAt, p.size]) }],
    }),
    [history],
  );
  return (
    <Loadable loading={loading && !data} error={error} label="the segment">
      {!segment ? (
        <p role="alert">
          No segment has this id. <a href={href('segments')}>All segments</a>
        </p>
      ) : (
        <div className="grid">
          <Panel
            title={segment.name}
            wide
            actions={
              <span className="actions">
                {segment.rule != null && (
                  <button type="button" onClick={() => onEdit(segment.rule)}>
                    Copy rule into the editor
                  </button>
                )}
                <a href={href('segments')}>All segments</a>
              </span>
            }
          >
            <dl className="facts">
              <dt>Kind</dt>
              <dd>{segment.kind}</dd>
              <dt>Status</dt>
              <dd data-testid="segment-status">{segment.status}</dd>
              <dt>Members</dt>
              <dd data-testid="segment-size">{formatNumber(segment.size)}</dd>
              <dt>Created</dt>
              <dd>{formatDateTime(segment.createdAt)}</dd>
              <dt>Refreshed</dt>
              <dd>{formatDateTime(segment.refreshedAt)}</dd>
              {segment.description && (
                <>
                  <dt>Description</dt>
                  <dd>{segment.description}</dd>
                </>
              )}
            </dl>
            {segment.rule != null && (
              <details>
                <summary>Rule (JSON)</summary>
                <pre className="json">{JSON.stringify(segment.rule, null, 2)}</pre>
              </details>
            )}
          </Panel>
          <Panel title="Size over time">
            <Chart
              title={`Members of ${segment.name} over time`}
              option={option}
              rows={history}
              columns={[
                { header: 'When', cell: (p) => formatDateTime(p.recordedAt) },
                { header: 'Members', cell: (p) => formatNumber(p.size), numeric: true },
              ]}
            />
          </Panel>
          <Explain segmentId={segment.id} />
        </div>
      )}
    </Loadable>
  );
}

type Explanation = NonNullable<ConsoleExplainMembershipQuery['explainMembership']>;

function Explain({ segmentId }: { segmentId: string }) {
  const client = useClient();
  const [customerId, setCustomerId] = useState('');
  const [result, setResult] = useState<Explanation | null>();
  const [error, setError] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!customerId.trim()) return setError('A customer id is needed.');
    setError(undefined);
    try {
      const data = await client.request(ConsoleExplainMembershipDocument, { segmentId, customerId: customerId.trim() });
      setResult(data.explainMembership);
    } catch (e) {
      setResult(undefined);
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <Panel title="Why is a customer in it?">
      <form className="inline-form" onSubmit={submit} noValidate>
        <label>
          <span>Customer id</span>
          <input value={customerId} onChange={(e) => setCustomerId(e.target.value)} spellCheck={false} />
        </label>
        <button type="submit">Explain</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {result === null && <p role="status">No customer has this id.</p>}
      {result && (
        <>
          <p role="status">
            <a href={href('customers', result.customer.id)}>{result.customer.displayName ?? result.customer.id}</a>{' '}
            {result.isMember ? `is a member${result.memberSince ? ` since ${formatDateTime(result.memberSince)}` : ''}` : 'is not a member'}; the rule{' '}
            {result.matchesRule ? 'holds' : 'does not hold'} now.
          </p>
          <DataTable
            caption="Conditions of the rule for this customer"
            rows={result.conditions}
            columns={[
              { header: 'Path', cell: (c) => <code>{c.path}</code> },
              { header: 'Kind', cell: (c) => c.kind },
              { header: 'Holds', cell: (c) => (c.holds ? '✓ yes' : '✗ no') },
              { header: 'Why', cell: (c) => c.description },
            ]}
          />
        </>
      )}
    </Panel>
  );
}

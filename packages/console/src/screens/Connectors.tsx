import { useId, useMemo, useState, type FormEvent } from 'react';
import {
  ConsoleConnectionsDocument,
  ConsoleConnectorsDocument,
  ConsoleCreateConnectionDocument,
  type ConsoleConnectionsQuery,
  type ConsoleConnectorsQuery,
} from '../gql/graphql';
import { GraphQLRequestError } from '../client';
import type { Route } from '../router';
import { useClient, useQuery } from '../ui/client-context';
import { DataTable } from '../ui/DataTable';
import { Loadable, Panel, formatDateTime, formatNumber } from '../ui/Status';
import './screens.css';

type Connector = ConsoleConnectorsQuery['connectors'][number];

/** One config field as the `connectors` query describes it (the connector kit's describeConfig). */
interface ConfigField {
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'array' | 'object' | 'unknown';
  required: boolean;
  secret: boolean;
  nullable?: boolean;
  endpoint?: true;
  description?: string;
  default?: unknown;
  values?: unknown[];
  items?: ConfigField;
  fields?: ConfigField[];
  format?: string;
}

/** A problem of the form, by the API's field path (`config.mapping.externalId`, `name`). */
interface Issue {
  field: string;
  message: string;
}

/**
 * The Connectors screen: the installed connector plugins (their manifests),
 * the connections with their status, runs and refused webhook deliveries, and
 * a create-connection form generated from the chosen connector's config
 * schema. Secret fields are password inputs that are emptied once sent: the
 * API never returns a secret ("[redacted]"), and the screen never shows one.
 */
export default function Connectors(_props: { route: Route }) {
  const connectors = useQuery(ConsoleConnectorsDocument);
  const connections = useQuery(ConsoleConnectionsDocument);
  const loaded = useMemo(() => connectors.data?.connectors.filter((c) => c.status === 'LOADED') ?? [], [connectors.data]);
  return (
    <>
      <h1>Connectors</h1>
      <div className="grid">
        <Panel title="Installed connectors" wide>
          <Loadable loading={connectors.loading && !connectors.data} error={connectors.error} label="connectors">
            <DataTable
              caption="Installed connectors"
              rows={connectors.data?.connectors ?? []}
              empty="No connector is installed."
              columns={[
                { header: 'Connector', cell: (c) => <strong>{c.displayName ?? c.id}</strong> },
                { header: 'Id', cell: (c) => <code>{c.id}</code> },
                { header: 'Version', cell: (c) => c.version ?? '—' },
                { header: 'Mode', cell: (c) => [c.pull && 'pull', c.push && 'push (webhooks)'].filter(Boolean).join(', ') || '—' },
                {
                  header: 'Status',
                  cell: (c) => (
                    <>
                      <span className={`status status-${c.status.toLowerCase()}`}>{c.status}</span>
                      {c.error && (
                        <span className="error">
                          {' '}
                          {c.errorCode}: {c.error}
                        </span>
                      )}
                    </>
                  ),
                },
                { header: 'What it imports', cell: (c) => c.description ?? '' },
                { header: 'Source', cell: (c) => <code>{c.source}</code> },
              ]}
            />
          </Loadable>
        </Panel>
        <Panel title={`Connections${connections.data ? ` (${connections.data.connections.totalCount})` : ''}`} wide>
          <Loadable loading={connections.loading && !connections.data} error={connections.error} label="connections">
            <Connections rows={connections.data?.connections.edges.map((e) => e.node) ?? []} />
          </Loadable>
        </Panel>
        <Panel title="New connection" wide>
          <CreateConnection connectors={loaded} onCreated={connections.reload} />
        </Panel>
      </div>
    </>
  );
}

type ConnectionRow = ConsoleConnectionsQuery['connections']['edges'][number]['node'];

function Connections({ rows }: { rows: ConnectionRow[] }) {
  if (rows.length === 0) return <p className="muted">No connection yet: create one below.</p>;
  return (
    <>
      <DataTable
        caption="Connections"
        rows={rows}
        columns={[
          { header: 'Name', cell: (c) => <strong>{c.name}</strong> },
          { header: 'Connector', cell: (c) => <code>{c.connector}</code> },
          {
            header: 'Status',
            cell: (c) => (
              <>
                <span className={`status status-${c.status.toLowerCase()}`}>{c.status}</span>
                {c.lastError && <span className="error"> {c.lastError}</span>}
              </>
            ),
          },
          { header: 'Last run', cell: (c) => formatDateTime(c.lastRunAt) },
          { header: 'Schedule', cell: (c) => c.schedule ?? '—' },
          { header: 'Webhook path', cell: (c) => (c.webhookPath ? <code>{c.webhookPath}</code> : '—') },
          {
            header: 'Refused deliveries',
            cell: (c) =>
              c.refusedDeliveries.count === 0
                ? '0'
                : `${formatNumber(c.refusedDeliveries.count)} (last: ${c.refusedDeliveries.lastReason ?? '?'}, ${formatDateTime(c.refusedDeliveries.lastRefusedAt)})`,
            numeric: false,
          },
        ]}
      />
      {rows.map((c) => (
        <details key={c.id} className="connection-details">
          <summary>
            {c.name}: config and runs ({c.runs.edges.length})
          </summary>
          <pre className="json" aria-label={`Config of ${c.name}`}>
            {JSON.stringify(c.config, null, 2)}
          </pre>
          <DataTable
            caption={`Runs of ${c.name}`}
            empty="No run yet."
            rows={c.runs.edges.map((e) => e.node)}
            columns={[
              { header: 'Started', cell: (r) => formatDateTime(r.startedAt) },
              { header: 'Kind', cell: (r) => r.kind },
              { header: 'Status', cell: (r) => <span className={`status status-${r.status.toLowerCase()}`}>{r.status}</span> },
              { header: 'Received', cell: (r) => formatNumber(r.received), numeric: true },
              { header: 'Accepted', cell: (r) => formatNumber(r.accepted), numeric: true },
              { header: 'Rejected', cell: (r) => formatNumber(r.rejected), numeric: true },
              { header: 'Duplicates', cell: (r) => formatNumber(r.duplicates), numeric: true },
              { header: 'Error', cell: (r) => r.error ?? '' },
            ]}
          />
        </details>
      ))}
    </>
  );
}

/** The issues of a refusal: every one of `details.issues`, else the one `field`. */
function issuesOf(error: unknown): Issue[] {
  if (!(error instanceof GraphQLRequestError)) return [{ field: '', message: error instanceof Error ? error.message : String(error) }];
  return error.errors.flatMap((e) => {
    const details = e.extensions?.details as { issues?: Issue[] } | undefined;
    if (details?.issues && details.issues.length > 0) return details.issues;
    return [{ field: e.extensions?.field ?? '', message: e.message }];
  });
}

/** The config object from the form's texts: empty optional fields are left out so the connector's defaults apply. */
function buildConfig(fields: ConfigField[], values: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of fields) {
    const path = prefix + field.name;
    if (field.type === 'object' && field.fields) {
      const nested = buildConfig(field.fields, values, `${path}.`);
      if (Object.keys(nested).length > 0 || field.required) config[field.name] = nested;
      continue;
    }
    const value = values[path];
    if (field.type === 'boolean') {
      if (typeof value === 'boolean') config[field.name] = value;
      continue;
    }
    const text = typeof value === 'string' ? value : '';
    if (text.trim() === '') continue;
    config[field.name] = typed(field, text);
  }
  return config;
}

function typed(field: ConfigField, text: string): unknown {
  switch (field.type) {
    case 'number':
    case 'integer':
      return Number.isFinite(Number(text)) ? Number(text) : text;
    case 'enum':
      return field.values?.find((v) => String(v) === text) ?? text;
    case 'array':
      return text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
        .map((t) => (field.items ? typed(field.items, t) : t));
    case 'unknown':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    default:
      return text;
  }
}

function CreateConnection({ connectors, onCreated }: { connectors: Connector[]; onCreated: () => void }) {
  const client = useClient();
  const [connectorId, setConnectorId] = useState('');
  const [name, setName] = useState('');
  const [schedule, setSchedule] = useState('');
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [issues, setIssues] = useState<Issue[]>([]);
  const [created, setCreated] = useState<string>();
  const [busy, setBusy] = useState(false);
  const connector = connectors.find((c) => c.id === connectorId);
  const fields = useMemo(() => (Array.isArray(connector?.configSchema) ? (connector.configSchema as ConfigField[]) : []), [connector]);
  const set = (path: string, value: unknown) => setValues((v) => ({ ...v, [path]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!connector) return;
    setBusy(true);
    setIssues([]);
    setCreated(undefined);
    try {
      const data = await client.request(ConsoleCreateConnectionDocument, {
        input: { connector: connector.id, name: name.trim(), config: buildConfig(fields, values), ...(schedule.trim() ? { schedule: schedule.trim() } : {}) },
      });
      setCreated(`Created ${data.createConnection.name} (${data.createConnection.status}).`);
      setValues({});
      setName('');
      setSchedule('');
      onCreated();
    } catch (e) {
      setIssues(issuesOf(e));
    } finally {
      // A secret typed once is never kept on screen after it was sent, accepted or not.
      setValues((v) => Object.fromEntries(Object.entries(v).filter(([path]) => !secretPaths(fields).includes(path))));
      setBusy(false);
    }
  };
  const at = (path: string) => issues.filter((i) => i.field === path);
  const placed = new Set(['name', 'schedule', 'connector', ...allPaths(fields).map((p) => `config.${p}`)]);
  const unplaced = issues.filter((i) => !placed.has(i.field));
  return (
    <form className="stack" onSubmit={submit} noValidate aria-label="New connection">
      <label>
        <span>Connector</span>
        <select
          value={connectorId}
          onChange={(e) => {
            setConnectorId(e.target.value);
            setValues({});
            setIssues([]);
          }}
        >
          <option value="">(choose a connector)</option>
          {connectors.map((c) => (
            <option key={c.id} value={c.id}>
              {c.displayName ?? c.id}
            </option>
          ))}
        </select>
      </label>
      {created && <p role="status">{created}</p>}
      {connector && (
        <>
          <p className="muted">{connector.description}</p>
          <TextInput path="name" label="Connection name" required value={name} onChange={setName} issues={at('name')} />
          {connector.pull && (
            <TextInput
              path="schedule"
              label="Schedule"
              value={schedule}
              onChange={setSchedule}
              issues={at('schedule')}
              hint='Seconds between runs ("3600") or a cron pattern; empty: on demand only.'
            />
          )}
          <div className="config-fields">
            <FieldList fields={fields} prefix="" values={values} set={set} issuesAt={(p) => at(`config.${p}`)} />
          </div>
          {unplaced.length > 0 && (
            <ul className="field-error" role="alert">
              {unplaced.map((i) => (
                <li key={i.field + i.message}>
                  {i.field && <code>{i.field}</code>} {i.message}
                </li>
              ))}
            </ul>
          )}
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create connection'}
          </button>
        </>
      )}
    </form>
  );
}

function allPaths(fields: ConfigField[], prefix = ''): string[] {
  return fields.flatMap((f) => [prefix + f.name, ...(f.fields ? allPaths(f.fields, `${prefix}${f.name}.`) : [])]);
}

function secretPaths(fields: ConfigField[], prefix = ''): string[] {
  return fields.flatMap((f) => [...(f.secret ? [prefix + f.name] : []), ...(f.fields ? secretPaths(f.fields, `${prefix}${f.name}.`) : [])]);
}

function FieldList({
  fields,
  prefix,
  values,
  set,
  issuesAt,
}: {
  fields: ConfigField[];
  prefix: string;
  values: Record<string, unknown>;
  set: (path: string, value: unknown) => void;
  issuesAt: (path: string) => Issue[];
}) {
  return (
    <>
      {fields.map((field) => {
        const path = prefix + field.name;
        if (field.type === 'object' && field.fields) {
          return (
            <fieldset key={path}>
              <legend>
                {path}
                {field.required && <RequiredMark />}
              </legend>
              {field.description && <p className="muted">{field.description}</p>}
              <Issues issues={issuesAt(path)} />
              <div className="config-fields">
                <FieldList fields={field.fields} prefix={`${path}.`} values={values} set={set} issuesAt={issuesAt} />
              </div>
            </fieldset>
          );
        }
        return <ConfigInput key={path} field={field} path={path} value={values[path]} set={set} issues={issuesAt(path)} />;
      })}
    </>
  );
}

function RequiredMark() {
  return (
    <span className="required-mark" aria-hidden="true" title="required">
      {' '}
      *
    </span>
  );
}

function Issues({ issues, id }: { issues: Issue[]; id?: string }) {
  if (issues.length === 0) return null;
  return (
    <span className="field-error" id={id} role="alert">
      {issues.map((i) => i.message).join('; ')}
    </span>
  );
}

function TextInput({
  path,
  label,
  value,
  onChange,
  issues,
  required = false,
  hint,
}: {
  path: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  issues: Issue[];
  required?: boolean;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="config-field">
      <label htmlFor={id}>
        {label}
        {required && <RequiredMark />}
      </label>
      <input
        id={id}
        name={path}
        value={value}
        required={required}
        aria-invalid={issues.length > 0 || undefined}
        aria-describedby={`${id}-hint ${id}-error`}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint && (
        <span className="muted" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      <Issues issues={issues} id={`${id}-error`} />
    </div>
  );
}

/** One generated input: its kind follows the field's type; a secret is a password input, never filled from the API. */
function ConfigInput({
  field,
  path,
  value,
  set,
  issues,
}: {
  field: ConfigField;
  path: string;
  value: unknown;
  set: (path: string, value: unknown) => void;
  issues: Issue[];
}) {
  const id = useId();
  const describedBy = `${id}-hint ${id}-error`;
  const common = {
    id,
    name: `config.${path}`,
    required: field.required,
    'aria-required': field.required || undefined,
    'aria-invalid': issues.length > 0 || undefined,
    'aria-describedby': describedBy,
  };
  const text = typeof value === 'string' ? value : '';
  const placeholder = field.default !== undefined ? `default: ${typeof field.default === 'string' ? field.default : JSON.stringify(field.default)}` : undefined;
  let input;
  switch (field.type) {
    case 'boolean':
      input = (
        <input
          {...common}
          type="checkbox"
          checked={typeof value === 'boolean' ? value : field.default === true}
          onChange={(e) => set(path, e.target.checked)}
        />
      );
      break;
    case 'enum':
      input = (
        <select {...common} value={text} onChange={(e) => set(path, e.target.value)}>
          <option value="">{field.default !== undefined ? `(default: ${String(field.default)})` : '(choose)'}</option>
          {(field.values ?? []).map((v) => (
            <option key={String(v)} value={String(v)}>
              {String(v)}
            </option>
          ))}
        </select>
      );
      break;
    case 'number':
    case 'integer':
      input = (
        <input
          {...common}
          type="number"
          step={field.type === 'integer' ? 1 : 'any'}
          inputMode={field.type === 'integer' ? 'numeric' : 'decimal'}
          placeholder={placeholder}
          value={text}
          onChange={(e) => set(path, e.target.value)}
        />
      );
      break;
    case 'unknown':
      input = <textarea {...common} rows={3} spellCheck={false} placeholder="JSON" value={text} onChange={(e) => set(path, e.target.value)} />;
      break;
    default:
      input = (
        <input
          {...common}
          type={field.secret ? 'password' : field.format === 'url' ? 'url' : 'text'}
          autoComplete={field.secret ? 'new-password' : 'off'}
          spellCheck={false}
          placeholder={field.type === 'array' ? 'comma-separated' : placeholder}
          value={text}
          onChange={(e) => set(path, e.target.value)}
        />
      );
  }
  const hint = [
    field.description,
    field.secret ? 'secret: write-only, never shown again' : undefined,
    field.endpoint ? 'endpoint: changing it needs the secrets again' : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <div className={field.type === 'boolean' ? 'config-field checkbox' : 'config-field'}>
      <label htmlFor={id}>
        {path}
        {field.required && <RequiredMark />}
        <span className="muted"> ({field.secret ? 'secret' : field.type === 'array' ? `list of ${field.items?.type ?? 'values'}` : field.type})</span>
      </label>
      {input}
      <span className="muted" id={`${id}-hint`}>
        {hint}
      </span>
      <Issues issues={issues} id={`${id}-error`} />
    </div>
  );
}

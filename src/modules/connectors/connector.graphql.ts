import { fail } from '../../errors/catalog';
import { builder } from '../../graphql/builder';
import { forwardOnly, globalId, localId } from '../../graphql/ids';
import type { ConnectionStatus } from './connection.service';
import type { ConnectionCheck, ConnectionRecord } from './connection.service';
import type { RunError } from './connector-run.service';
import type { ConnectorRunRecord } from './connector-run.service';
import type { LoadedPlugin } from './plugin-loader';
import { present } from '../../infra/present';

const ConnectorStatusEnum = builder.enumType('ConnectorStatus', {
  description: 'Whether a connector plugin could be loaded.',
  values: {
    LOADED: { description: 'Loaded and validated; connections can use it.' },
    FAILED: { description: 'Failed to load or validate; see error. Other connectors are unaffected.' },
  } as const,
});

const ConnectorDefinitionRef = builder.objectRef<LoadedPlugin>('ConnectorDefinition').implement({
  description: 'An installed connector plugin (from plugins/ or a configured package), loaded or not.',
  fields: (t) => ({
    id: t.string({
      description: 'The connector id (a lowercase slug); for a plugin that failed before declaring one, its folder or package name.',
      resolve: (p) => p.id,
    }),
    version: t.string({ nullable: true, description: 'The plugin’s semantic version.', resolve: (p) => (p.status === 'LOADED' ? p.manifest.version : null) }),
    displayName: t.string({ nullable: true, description: 'Name to show.', resolve: (p) => (p.status === 'LOADED' ? p.manifest.displayName : null) }),
    description: t.string({
      nullable: true,
      description: 'What the connector imports.',
      resolve: (p) => (p.status === 'LOADED' ? p.manifest.description : null),
    }),
    status: t.field({ type: ConnectorStatusEnum, description: 'Loaded or failed.', resolve: (p) => p.status }),
    error: t.string({ nullable: true, description: 'Why the plugin failed to load.', resolve: (p) => (p.status === 'FAILED' ? p.error : null) }),
    errorCode: t.string({
      nullable: true,
      description: 'Stable code of the load failure (CONNECTOR_LOAD_…).',
      resolve: (p) => (p.status === 'FAILED' ? (p.code ?? null) : null),
    }),
    source: t.string({ description: 'Where it was found: a folder path or a package name.', resolve: (p) => p.source.location }),
    push: t.boolean({ description: 'Receives webhooks at /hooks/:connectionId.', resolve: (p) => p.status === 'LOADED' && p.manifest.webhook }),
    pull: t.boolean({ description: 'Syncs on a schedule or on demand.', resolve: (p) => p.status === 'LOADED' && p.manifest.sync }),
    configSchema: t.field({
      type: 'JSON',
      description: 'The config fields (name, type, required, secret, endpoint, description, default) a connection fills in; empty when the plugin failed.',
      resolve: (p) => (p.status === 'LOADED' ? p.manifest.configFields : []),
    }),
  }),
});

builder.queryField('connectors', (t) =>
  t.field({
    type: [ConnectorDefinitionRef],
    description: 'Installed connector plugins and their config schemas, including those that failed to load (with the error).',
    resolve: (_root, _args, ctx) => ctx.servicesOf('connectors').connectors.registry.list(),
  }),
);

const ConnectionStatusEnum = builder.enumType('ConnectionStatus', {
  description: 'Whether a connection runs.',
  values: {
    ACTIVE: { description: 'Runs on its schedule and accepts webhooks.' },
    PAUSED: { description: 'Neither syncs nor accepts webhooks (deliveries are refused: 401 WEBHOOK_REFUSED).' },
    NEEDS_ATTENTION: { description: 'The source refused the credentials or config during a run; the next successful run (or setting ACTIVE) clears it.' },
  } as const,
});

const RunKindEnum = builder.enumType('ConnectorRunKind', {
  description: 'What a connector run was.',
  values: { SYNC: { description: 'A pull sync.' }, WEBHOOK: { description: 'One webhook delivery.' }, IMPORT: { description: 'A file import.' } } as const,
});

const RunStatusEnum = builder.enumType('ConnectorRunStatus', {
  description: 'How a connector run went.',
  values: {
    QUEUED: { description: 'Waiting for a worker.' },
    RUNNING: { description: 'In progress; counts grow as batches commit.' },
    SUCCEEDED: { description: 'Finished; rejected rows, if any, are listed in errors.' },
    PARTIAL: { description: 'Ended early (rate limit or transient failure) keeping every committed batch; the next run resumes.' },
    FAILED: { description: 'Failed; see error. Batches committed before the failure are kept.' },
  } as const,
});

const RunErrorRef = builder.objectRef<RunError>('ConnectorRunError').implement({
  description: 'A record a run rejected, and why.',
  fields: (t) => ({
    line: t.int({ nullable: true, description: 'Line number in the imported file.', resolve: (e) => e.line ?? null }),
    path: t.string({ nullable: true, description: 'Path of the record in the batch, e.g. `interactions[3].occurredAt`.', resolve: (e) => e.path ?? null }),
    code: t.exposeString('code', { description: 'Stable error code.' }),
    message: t.exposeString('message', { description: 'What is wrong.' }),
  }),
});

export const ConnectorRunRef = builder.objectRef<ConnectorRunRecord>('ConnectorRun');
builder.node(ConnectorRunRef, {
  description: 'One sync, webhook delivery or file import, with its counts, rejected rows and timings.',
  id: { resolve: (r) => r.id },
  loadMany: (ids, ctx) =>
    Promise.all(
      ids.map((id) =>
        ctx
          .servicesOf('connectors')
          .connectors.runs.get(id)
          .then((r) => r ?? null),
      ),
    ),
  fields: (t) => ({
    kind: t.field({ type: RunKindEnum, description: 'Sync, webhook or import.', resolve: (r) => r.kind }),
    status: t.field({ type: RunStatusEnum, description: 'How it went.', resolve: (r) => r.status }),
    received: t.exposeInt('received', { description: 'Records received.' }),
    accepted: t.exposeInt('accepted', { description: 'Customers and interactions written.' }),
    duplicates: t.exposeInt('duplicates', { description: 'Interactions already stored (same source and externalId).' }),
    rejected: t.exposeInt('rejected', { description: 'Records refused; the first ones are in errors.' }),
    errors: t.field({ type: [RunErrorRef], description: 'The first rejected records (at most 100) with their reasons.', resolve: (r) => r.errors }),
    error: t.string({ nullable: true, description: 'Why the run failed or ended early.', resolve: (r) => r.error }),
    details: t.field({
      type: 'JSON',
      description: 'Kind-specific details: pages fetched, file name and format, bytes read, retryAfterMs.',
      resolve: (r) => r.details,
    }),
    startedAt: t.field({ type: 'DateTime', description: 'When it started (or was queued).', resolve: (r) => r.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it ended; null while it runs.', resolve: (r) => r.finishedAt }),
    durationMs: t.int({
      nullable: true,
      description: 'Milliseconds from start to end; null while it runs.',
      resolve: (r) => (r.finishedAt ? new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime() : null),
    }),
  }),
});

const ConnectorRunConnectionRef = builder.connectionObject(
  { type: ConnectorRunRef, name: 'ConnectorRunConnection', description: 'A page of connector runs, newest first (Relay connection).' },
  { name: 'ConnectorRunEdge', description: 'A run in a page, with its cursor.' },
);

export const ConnectionRef = builder.objectRef<ConnectionRecord>('Connection');
builder.node(ConnectionRef, {
  description: 'An installed connector: its config (secrets never returned), cursor state, schedule and runs.',
  id: { resolve: (c) => c.id },
  loadMany: (ids, ctx) =>
    Promise.all(
      ids.map((id) =>
        ctx
          .servicesOf('connectors')
          .connectors.connections.get(id)
          .then((c) => c ?? null),
      ),
    ),
  fields: (t) => ({
    connector: t.exposeString('connector', { description: 'The connector id.' }),
    name: t.exposeString('name', { description: 'Unique name of the connection.' }),
    config: t.field({
      type: 'JSON',
      description: 'The config, with every secret field replaced by "[redacted]".',
      resolve: (c, _a, ctx) => ctx.servicesOf('connectors').connectors.connections.shownConfig(c),
    }),
    state: t.field({ type: 'JSON', nullable: true, description: 'The cursor of the last committed batch (pull connectors).', resolve: (c) => c.state }),
    status: t.field({ type: ConnectionStatusEnum, description: 'Active, paused or needing attention.', resolve: (c) => c.status }),
    schedule: t.string({ nullable: true, description: 'Pull schedule: seconds between runs ("3600") or a cron pattern.', resolve: (c) => c.schedule }),
    webhookPath: t.string({
      nullable: true,
      description: 'Where the source posts webhooks, relative to the gateway (push connectors).',
      resolve: (c, _a, ctx) => {
        const plugin = ctx.servicesOf('connectors').connectors.registry.find(c.connector);
        return plugin?.status === 'LOADED' && plugin.manifest.webhook ? `/hooks/${c.id}` : null;
      },
    }),
    lastRunAt: t.field({ type: 'DateTime', nullable: true, description: 'When the last sync ended.', resolve: (c) => c.lastRunAt }),
    lastError: t.string({ nullable: true, description: 'Why the connection needs attention.', resolve: (c) => c.lastError }),
    defaultCountry: t.string({
      nullable: true,
      description:
        'Country (ISO 3166-1 alpha-2) in which phone numbers without a country code are read; null: the instance default (RAPPORT_DEFAULT_PHONE_COUNTRY), and without one such numbers are refused.',
      resolve: (c) => c.defaultCountry,
    }),
    source: t.string({
      description:
        'The `source` its interactions are stored under, the scope of deduplication by externalId: connector:<connectionId>, or connector:<connector>:<key> when the connector declares a source key (the remote account), shared by every connection to that account.',
      resolve: (c, _a, ctx) => ctx.servicesOf('connectors').connectors.connections.ingestScope(c).source,
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created.', resolve: (c) => c.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When it last changed.', resolve: (c) => c.updatedAt }),
    runs: t.connection(
      {
        type: ConnectorRunRef,
        description: 'Its syncs, webhook deliveries and imports, newest first.',
        resolve: (c, args, ctx) => ctx.servicesOf('connectors').connectors.runs.list(c.id, forwardOnly(args)),
      },
      ConnectorRunConnectionRef,
    ),
  }),
});

const ConnectionConnectionRef = builder.connectionObject(
  { type: ConnectionRef, name: 'ConnectionConnection', description: 'A page of connections (Relay connection).' },
  { name: 'ConnectionEdge', description: 'A connection in a page, with its cursor.' },
);

builder.queryField('connections', (t) =>
  t.connection(
    {
      type: ConnectionRef,
      description: 'Installed connections, oldest first.',
      resolve: (_root, args, ctx) => ctx.servicesOf('connectors').connectors.connections.list(forwardOnly(args)),
    },
    ConnectionConnectionRef,
  ),
);

builder.queryField('connection', (t) =>
  t.field({
    type: ConnectionRef,
    nullable: true,
    description: 'One connection by id; null when it does not exist.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the connection.' }) },
    resolve: async (_root, args, ctx) => (await ctx.servicesOf('connectors').connectors.connections.get(localId(String(args.id), 'Connection', 'id'))) ?? null,
  }),
);

builder.queryField('connectorRun', (t) =>
  t.field({
    type: ConnectorRunRef,
    nullable: true,
    description: 'One run by id: poll it to follow a file import or an on-demand sync.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the run.' }) },
    resolve: async (_root, args, ctx) => (await ctx.servicesOf('connectors').connectors.runs.get(localId(String(args.id), 'ConnectorRun', 'id'))) ?? null,
  }),
);

const CreateConnectionInput = builder.inputType('CreateConnectionInput', {
  description: 'A new connection of an installed connector.',
  fields: (t) => ({
    connector: t.string({ required: true, description: 'The connector id (see connectors).' }),
    name: t.string({ required: true, description: 'Unique name, 1 to 128 characters.' }),
    config: t.field({ type: 'JSON', required: true, description: 'Settings, validated against the connector’s configSchema; secrets are encrypted at rest.' }),
    schedule: t.string({ description: 'Pull schedule: seconds between runs ("3600") or a cron pattern ("0 * * * *"). Pull connectors only.' }),
    status: t.field({ type: ConnectionStatusEnum, description: 'ACTIVE (default) or PAUSED.' }),
    defaultCountry: t.string({
      description: 'Country (ISO 3166-1 alpha-2, GB) in which phone numbers without a country code are read; default: RAPPORT_DEFAULT_PHONE_COUNTRY.',
    }),
  }),
});

const UpdateConnectionInput = builder.inputType('UpdateConnectionInput', {
  description: 'Changes to a connection; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: 'New unique name.' }),
    config: t.field({
      type: 'JSON',
      description:
        'The whole new config; a secret left out or sent as "[redacted]" keeps its stored value, null removes it. A config that changes an endpoint field (configSchema marks them `endpoint: true`: base URL, host…) must send every stored secret again, else SECRETS_REQUIRED naming the first missing one.',
    }),
    schedule: t.string({ description: 'New schedule; an empty string removes it.' }),
    status: t.field({ type: ConnectionStatusEnum, description: 'ACTIVE, PAUSED or NEEDS_ATTENTION.' }),
    resetState: t.boolean({ description: 'Forget the cursor: the next sync starts from the beginning.' }),
    defaultCountry: t.string({ description: 'New default phone country (ISO 3166-1 alpha-2); an empty string falls back to the instance default.' }),
  }),
});

const DeleteConnectionPayloadRef = builder.objectRef<{ deletedId: string }>('DeleteConnectionPayload').implement({
  description: 'Outcome of deleteConnection.',
  fields: (t) => ({ deletedId: t.id({ description: 'Global id of the deleted connection.', resolve: (p) => globalId('Connection', p.deletedId) }) }),
});

const ConnectionTestRef = builder.objectRef<ConnectionCheck & { connection: ConnectionRecord }>('ConnectionTest').implement({
  description: "Outcome of testConnection: what the connector's check said about the connection's stored config.",
  fields: (t) => ({
    connection: t.field({ type: ConnectionRef, description: 'The connection tested (unchanged by the test).', resolve: (r) => r.connection }),
    checked: t.exposeBoolean('checked', { description: 'Whether the connector declares a check; without one nothing was tested and passed is true.' }),
    passed: t.exposeBoolean('passed', { description: 'The check accepted the config.' }),
    conclusive: t.exposeBoolean('conclusive', {
      description:
        'A failure that says the config is wrong (code CONNECTOR_AUTHENTICATION, CONNECTOR_CONFIG or CONNECTOR_CONFIG_INVALID); false when the check could not finish (network, rate limit, timeout, a crash) and may pass later.',
    }),
    code: t.string({
      nullable: true,
      description:
        'Stable code of the failure: the connector error’s (CONNECTOR_AUTHENTICATION, CONNECTOR_CONFIG, CONNECTOR_RETRYABLE, CONNECTOR_RATE_LIMITED, CONNECTOR_HTTP_TIMEOUT, CONNECTOR_HTTP_STATUS, CONNECTOR_EGRESS_DENIED…), PLUGIN_TIMEOUT, PLUGIN_CRASHED, CONNECTOR_UNAVAILABLE, or CONNECTION_CHECK_FAILED for anything else; null when it passed.',
      resolve: (r) => r.code,
    }),
    message: t.string({ nullable: true, description: 'What the connector said; null when it passed.', resolve: (r) => r.message }),
    field: t.string({ nullable: true, description: 'The config field at fault (config.<field>), or config; null when it passed.', resolve: (r) => r.field }),
    durationMs: t.exposeInt('durationMs', { description: 'How long the check took, in milliseconds.' }),
  }),
});

function configObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail('CONNECTOR_CONFIG_INVALID', { detail: `${field} must be a JSON object` }, field);
  return value as Record<string, unknown>;
}

builder.mutationFields((t) => ({
  createConnection: t.field({
    type: ConnectionRef,
    description:
      'Installs a connection: the config is validated against the connector’s schema (errors name the field, as config.<field>) and its secrets encrypted. When the connector has a check, it runs first: a refusal of the credentials or a setting refuses the connection (CONNECTION_CHECK_FAILED, nothing stored); a check that cannot finish (network, timeout) does not.',
    args: { input: t.arg({ type: CreateConnectionInput, required: true, description: 'The connection.' }) },
    resolve: (_root, { input }, ctx) =>
      ctx.servicesOf('connectors').connectors.connections.create({
        connector: input.connector,
        name: input.name,
        config: configObject(input.config, 'config'),
        schedule: input.schedule ?? null,
        status: (input.status ?? null) as ConnectionStatus | null,
        defaultCountry: input.defaultCountry ?? null,
      }),
  }),
  updateConnection: t.field({
    type: ConnectionRef,
    description:
      'Changes a connection’s name, config, schedule or status. A changed config is checked as in createConnection: a refusal by the connector’s check leaves the connection unchanged (CONNECTION_CHECK_FAILED).',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the connection.' }),
      input: t.arg({ type: UpdateConnectionInput, required: true, description: 'The changes.' }),
    },
    resolve: (_root, { id, input }, ctx) =>
      ctx.servicesOf('connectors').connectors.connections.update(localId(String(id), 'Connection', 'id'), {
        name: input.name,
        config: input.config == null ? null : configObject(input.config, 'input.config'),
        schedule: input.schedule,
        status: (input.status ?? null) as ConnectionStatus | null,
        resetState: input.resetState,
        defaultCountry: input.defaultCountry,
      }),
  }),
  deleteConnection: t.field({
    type: DeleteConnectionPayloadRef,
    description: 'Deletes a connection, its schedule and its runs; the interactions it delivered stay.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the connection.' }) },
    resolve: async (_root, { id }, ctx) => ({
      deletedId: (await ctx.servicesOf('connectors').connectors.connections.delete(localId(String(id), 'Connection', 'id'))).id,
    }),
  }),
  testConnection: t.field({
    type: ConnectionTestRef,
    description:
      "Runs the connector's check (the credentials test) with the connection's stored config, in the plugin's host, and answers what it said. Changes nothing: the status stays as it is.",
    args: { id: t.arg.id({ required: true, description: 'Global id of the connection.' }) },
    resolve: async (_root, { id }, ctx) => {
      const connectionId = localId(String(id), 'Connection', 'id');
      const check = await ctx.servicesOf('connectors').connectors.connections.test(connectionId);
      return { ...check, connection: await ctx.servicesOf('connectors').connectors.connections.require(connectionId) };
    },
  }),
  runConnection: t.field({
    type: ConnectorRunRef,
    description: 'Queues a sync of a pull connection now; returns the QUEUED run to poll.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the connection.' }) },
    resolve: async (_root, { id }, ctx) => {
      const { connections, registry, runs, scheduler } = ctx.servicesOf('connectors').connectors;
      const connection = await connections.require(localId(String(id), 'Connection', 'id'));
      const { manifest } = registry.require(connection.connector);
      if (!manifest.sync) throw fail('BAD_REQUEST', { detail: `connector "${manifest.id}" is push-only: it has no sync to run` }, 'id');
      const runId = await runs.start('SYNC', connection.id, {}, 'QUEUED');
      try {
        await scheduler.enqueueSync(connection.id, runId);
      } catch (error) {
        await runs.finish(runId, 'FAILED', `could not queue the run: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
      return present(await runs.get(runId), `connector run ${runId}`);
    },
  }),
}));

/**
 * The plugin host: the process a connector plugin's code runs in, and the only
 * one. Rapport starts it inside Node's permission model (see
 * src/modules/connectors/plugin-sandbox.ts), sends the init message on stdin;
 * the host loads the plugin, answers its manifest on file descriptor 3, and —
 * in `serve` mode — then answers calls (config validation, webhook deliveries
 * (verify, then parse), check, sync) until stdin closes.
 *
 * The plugin receives, per call, the one connection's config (secrets
 * decrypted) and nothing else of Rapport: batches and cursors go back to
 * Rapport, which validates and commits them.
 */
import { Socket } from 'node:net';
import {
  ConnectorLoadError,
  WebhookVerificationError,
  createHttpClient,
  describeConfig,
  endpointKeys,
  isConnectorError,
  jsonProblem,
  parseConnectorConfig,
  secretKeys,
  sourceKeyOf,
  validateConnectorDefinition,
  type ConnectorContext,
  type ConnectorDefinition,
  type EmitResult,
  type IngestBatch,
  type JsonObject,
  type WebhookRequest,
} from '@rapport/connector-kit';
import { lockDownNetwork } from './network';
import {
  FrameReader,
  encodeFrame,
  type CallRequest,
  type FromHost,
  type HostInit,
  type ToHost,
  type WebhookOutcome,
  type WebhookOutcomeProblem,
  type WireError,
  type WireWebhookRequest,
} from './protocol';

/** Starts the host with the init message the bootstrap read; `rest` is what stdin held after it. */
export function startHost(init: HostInit, rest: Buffer): void {
  // The channel to Rapport, kept in this closure.
  const out = new Socket({ fd: 3, readable: false, writable: true });
  const send = (message: FromHost) => out.write(encodeFrame(message));
  lockDown();
  lockDownNetwork(init.http.egress ?? {});

  let definition: ConnectorDefinition;
  try {
    definition = load(init.entry);
  } catch (error) {
    const failure: FromHost =
      error instanceof ConnectorLoadError
        ? { type: 'load-failed', code: error.code, message: error.message, ...(error.connectorId ? { connectorId: error.connectorId } : {}) }
        : { type: 'load-failed', code: 'CONNECTOR_LOAD_FAILED', message: messageOf(error) };
    out.end(encodeFrame(failure), () => process.exit(0));
    return;
  }
  const manifest: FromHost = {
    type: 'loaded',
    manifest: {
      id: definition.id,
      version: definition.version,
      displayName: definition.displayName,
      description: definition.description,
      configFields: describeConfig(definition.config),
      secretKeys: secretKeys(definition.config),
      endpointKeys: endpointKeys(definition.config),
      webhook: definition.webhook !== undefined,
      publicWebhook: definition.webhook?.public === true,
      sync: definition.sync !== undefined,
      check: definition.check !== undefined,
    },
  };
  if (init.mode === 'describe') {
    out.end(encodeFrame(manifest), () => process.exit(0));
    return;
  }
  send(manifest);

  const waiting = new Map<number, { resolve: (result: EmitResult | undefined) => void; reject: (error: Error) => void }>();
  let nextRequest = 0;

  const handle = (message: ToHost): void => {
    if (message.type === 'call') {
      // Rapport ends a call by killing the host, so this signal never aborts; plugins get one as the contract promises.
      const controller = new AbortController();
      run(definition, message, controller.signal, init, send, (request) => {
        const id = ++nextRequest;
        return new Promise((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          send({ ...request, type: 'request', id, call: message.id } as FromHost);
        });
      }).then(
        (value) => send({ type: 'result', id: message.id, ok: true, value: value ?? null }),
        (error: unknown) => send({ type: 'result', id: message.id, ok: false, error: toWire(error) }),
      );
    } else if (message.type === 'reply') {
      const waiter = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
    }
  };
  // Rapport is trusted: its frames are not size-limited here.
  const reader = new FrameReader(
    (message) => handle(message as ToHost),
    Number.MAX_SAFE_INTEGER,
    () => process.exit(70),
    () => process.exit(70),
  );
  reader.push(rest);
  process.stdin.on('data', (chunk: Buffer) => reader.push(chunk));
  // Rapport closed the channel (it stopped, or replaced this host).
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();

  // A plugin's stray asynchronous error is reported, and the host keeps serving its other calls.
  process.on('uncaughtException', (error) => send({ type: 'log', level: 'error', message: `uncaught exception in the plugin: ${messageOf(error)}` }));
  process.on('unhandledRejection', (error) => send({ type: 'log', level: 'error', message: `unhandled rejection in the plugin: ${messageOf(error)}` }));
}

type HostRequest = { op: 'emit'; batch: unknown } | { op: 'checkpoint'; state: unknown; hasMore: boolean };

/** What webhook.verify and webhook.parse receive besides the request: the real clock. */
const WEBHOOK_CONTEXT = Object.freeze({ now: () => new Date() });

async function run(
  definition: ConnectorDefinition,
  call: Extract<ToHost, { type: 'call' }> & CallRequest,
  signal: AbortSignal,
  init: HostInit,
  send: (message: FromHost) => void,
  request: (message: HostRequest) => Promise<EmitResult | undefined>,
): Promise<unknown> {
  if (call.op === 'config') {
    const parsed = parseConnectorConfig(definition.config, call.config ?? {});
    if (!parsed.ok) return { ok: false, issues: parsed.issues.map((issue) => ({ field: issue.field, message: issue.message })) };
    // The remote account the config reaches, when the connector declares one: connections with the same key share deduplication.
    const key = sourceKeyOf(definition, parsed.config as Record<string, unknown>);
    if (!key.ok) return { ok: false, issues: [{ field: '', message: key.message }] };
    return { ok: true, config: parsed.config, ...(key.key !== undefined ? { sourceKey: key.key } : {}) };
  }
  const config = configOf(definition, call.config);
  switch (call.op) {
    case 'webhook': {
      const webhook = definition.webhook;
      if (!webhook) throw new Error(`connector "${definition.id}" does not receive webhooks`);
      const request = webhookRequest(call.request);
      let verified: unknown;
      try {
        verified = await webhook.verify(request, config, WEBHOOK_CONTEXT);
      } catch (error) {
        // Whatever verify throws refuses the delivery. Only the error's code or class goes back: its message could quote the body.
        const verifyError =
          error instanceof WebhookVerificationError || isConnectorError(error) ? error.code : error instanceof Error ? error.name : typeof error;
        return { verified: false, verifyError: String(verifyError).slice(0, 200) } satisfies WebhookOutcome;
      }
      if (verified !== true) return { verified: false } satisfies WebhookOutcome;
      let batch: unknown;
      try {
        batch = await webhook.parse(request, config, WEBHOOK_CONTEXT);
      } catch (error) {
        // What parse throws is why the body is refused (400), not a failure of the plugin.
        return { verified: true, refused: messageOf(error) } satisfies WebhookOutcome;
      }
      // Text Postgres cannot store, or nesting too deep to send back, is refused here by path, as Rapport would refuse it.
      const invalid = batchProblem(batch);
      return (invalid ? { verified: true, invalid } : { verified: true, batch }) satisfies WebhookOutcome;
    }
    case 'check': {
      if (!definition.check) throw new Error(`connector "${definition.id}" has no check`);
      await definition.check(context(definition, config, undefined, signal, init, send, call.id, request));
      return null;
    }
    case 'sync':
      return sync(definition, config, call, signal, init, send, request);
  }
}

async function sync(
  definition: ConnectorDefinition,
  config: Readonly<Record<string, unknown>>,
  call: Extract<CallRequest, { op: 'sync' }> & { id: number },
  signal: AbortSignal,
  init: HostInit,
  send: (message: FromHost) => void,
  request: (message: HostRequest) => Promise<EmitResult | undefined>,
): Promise<{ pages: number }> {
  if (!definition.sync) throw new Error(`connector "${definition.id}" has no sync`);
  let state: JsonObject | undefined = call.state ?? undefined;
  let pages = 0;
  for (;;) {
    const frozen = state === undefined ? undefined : deepFreeze(structuredClone(state));
    const result = await definition.sync(context(definition, config, frozen, signal, init, send, call.id, request), frozen);
    if (!result || typeof result !== 'object' || typeof result.nextState !== 'object' || result.nextState === null) {
      throw new Error(`connector "${definition.id}": sync must return { nextState, batch?, hasMore? } with nextState an object`);
    }
    if (result.batch) await request({ op: 'emit', batch: result.batch });
    await request({ op: 'checkpoint', state: result.nextState, hasMore: result.hasMore === true });
    pages++;
    state = result.nextState as JsonObject;
    if (result.hasMore !== true || pages >= call.maxPages) return { pages };
  }
}

function context(
  definition: ConnectorDefinition,
  config: Readonly<Record<string, unknown>>,
  state: JsonObject | undefined,
  signal: AbortSignal,
  init: HostInit,
  send: (message: FromHost) => void,
  callId: number,
  request: (message: HostRequest) => Promise<EmitResult | undefined>,
): ConnectorContext {
  const line = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) =>
    send({ type: 'log', call: callId, level, message: String(message), ...(fields && typeof fields === 'object' ? { fields } : {}) });
  const logger: ConnectorContext['logger'] = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  // Every outbound request of the plugin goes through the kit's client, with Rapport's options on top of the plugin's own.
  const http = createHttpClient({ ...definition.http, ...init.http, signal, logger });
  return {
    config,
    logger,
    http,
    state,
    emit: async (batch: IngestBatch) => {
      signal.throwIfAborted();
      const result = await request({ op: 'emit', batch });
      if (!result) throw new Error('the plugin host answered an emit without its result');
      return result;
    },
    signal,
    now: () => new Date(),
  };
}

/** The config a call runs with: validated by the plugin's schema (defaults applied), frozen. */
function configOf(definition: ConnectorDefinition, raw: unknown): Readonly<Record<string, unknown>> {
  const parsed = parseConnectorConfig(definition.config, raw ?? {});
  if (!parsed.ok) {
    const issue = parsed.issues[0];
    const field = issue.field ? `config.${issue.field}` : 'config';
    throw Object.assign(new Error(`${field}: ${issue.message}`), { name: 'ConfigInvalid', wireCode: 'CONNECTOR_CONFIG_INVALID', field });
  }
  return Object.freeze(parsed.config as Record<string, unknown>);
}

function webhookRequest(wire: WireWebhookRequest): WebhookRequest {
  const rawBody = Buffer.from(wire.rawBodyBase64, 'base64');
  return { headers: { ...wire.headers }, body: rawBody.toString('utf8'), rawBody };
}

function load(entry: string): ConnectorDefinition {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(entry) as { default?: unknown };
  return validateConnectorDefinition(exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported);
}

/**
 * Takes from plugin code what the permission model leaves:
 * - sending signals (to the gateway, or any process of the same user):
 *   `process._debugProcess(pid)` sends SIGUSR1, which opens the inspector of
 *   a Node process and ends most others;
 * - files Node or V8 write without asking the permission model: trace events
 *   (`node_trace.<n>.log` in the working directory, `performance.mark` names
 *   included), a heap snapshot at the heap limit (the connection's secrets
 *   with it), and whatever V8 flags set at run time enable (natives syntax,
 *   logs).
 */
function lockDown(): void {
  const refuse = (what: string) => () => {
    throw Object.assign(new Error(`Access to this API has been restricted: plugins cannot ${what}`), { code: 'ERR_ACCESS_DENIED' });
  };
  for (const name of ['kill', '_kill', '_debugProcess', '_debugEnd'] as const) {
    Object.defineProperty(process, name, { value: refuse('send signals'), writable: false, configurable: false });
  }
  const seal = (target: object, name: string, what: string) =>
    Object.defineProperty(target, name, { value: refuse(what), writable: false, configurable: false });
  /* eslint-disable @typescript-eslint/no-require-imports */
  seal(require('node:trace_events'), 'createTracing', 'write trace files');
  seal(require('node:v8'), 'setHeapSnapshotNearHeapLimit', 'write heap snapshots');
  seal(require('node:v8'), 'setFlagsFromString', 'set V8 flags');
  /* eslint-enable @typescript-eslint/no-require-imports */
}

function toWire(error: unknown): WireError {
  try {
    const tagged = error as { wireCode?: unknown; field?: unknown };
    if (typeof tagged?.wireCode === 'string') {
      return {
        name: 'ConfigInvalid',
        code: tagged.wireCode,
        message: messageOf(error),
        retryable: false,
        ...(typeof tagged.field === 'string' ? { field: tagged.field } : {}),
      };
    }
    if (isConnectorError(error)) {
      const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
      const field = (error as { field?: unknown }).field;
      return {
        name: String(error.name),
        code: error.code,
        message: String(error.message),
        retryable: error.retryable,
        ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
        ...(typeof field === 'string' ? { field } : {}),
      };
    }
    return { name: error instanceof Error ? String(error.name) : 'Error', message: messageOf(error), retryable: false };
  } catch {
    return { name: 'Error', message: 'the plugin threw a value that cannot be described', retryable: false };
  }
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return 'unknown error';
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The first record of a batch whose text or shape {@link jsonProblem} refuses, named by its path in the batch. */
function batchProblem(batch: unknown): WebhookOutcomeProblem | undefined {
  if (typeof batch !== 'object' || batch === null) return undefined;
  for (const key of ['customers', 'interactions', 'consents'] as const) {
    const list = (batch as Record<string, unknown>)[key];
    if (!Array.isArray(list)) continue;
    for (const [index, record] of list.entries()) {
      const problem = jsonProblem(record, `${key}[${index}]`);
      if (problem) return { path: problem.path, code: problem.kind === 'text' ? 'INVALID_TEXT' : 'INPUT_TOO_COMPLEX', message: problem.message };
    }
  }
  return undefined;
}

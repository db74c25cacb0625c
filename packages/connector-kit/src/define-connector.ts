import { z } from 'zod';
import type { ConfigOf, ConnectorConfigSchema } from './config';
import type { ConnectorContext, SyncResult, WebhookContext, WebhookRequest } from './context';
import { ConnectorLoadError, type ConnectorLoadErrorCode } from './errors';
import type { RateLimitOptions, RetryOptions } from './http-client';
import type { IngestBatch } from './ingest-batch';
import { formatIssuePath } from './issue-path';
import type { JsonObject } from './json';
import { describeConfig } from './secret';
import { textProblem } from './text';

/**
 * The version of the connector contract this kit implements. A definition declares the
 * version it was written against; the host refuses versions it does not support with a
 * clear error instead of failing later in a sync.
 *
 * @example
 * ```ts
 * export default defineConnector({ id: 'acme-helpdesk', apiVersion: CONNECTOR_API_VERSION, … });
 * ```
 */
export const CONNECTOR_API_VERSION = 1;

/**
 * Every contract version this kit can load.
 *
 * @example
 * ```ts
 * if (!SUPPORTED_CONNECTOR_API_VERSIONS.includes(manifest.apiVersion)) skip(manifest);
 * ```
 */
export const SUPPORTED_CONNECTOR_API_VERSIONS: readonly number[] = Object.freeze([CONNECTOR_API_VERSION]);

/** The longest source key a connector may declare. */
export const MAX_SOURCE_KEY_LENGTH = 200;

/**
 * Runs a definition's `sourceKey` on a validated config and checks what it returns:
 * `undefined` when the connector declares none or returns none, else the key
 * (trimmed), or a problem message naming what is wrong. The host and the conformance suite both use it.
 *
 * @example
 * ```ts
 * const key = sourceKeyOf(definition, config); // { ok: true, key: 'acct_81' }
 * ```
 */
export function sourceKeyOf(
  definition: Pick<ConnectorDefinition, 'sourceKey'>,
  config: Readonly<Record<string, unknown>>,
): { ok: true; key: string | undefined } | { ok: false; message: string } {
  if (definition.sourceKey === undefined) return { ok: true, key: undefined };
  let value: unknown;
  try {
    value = (definition.sourceKey as (config: unknown) => unknown)(config);
  } catch (error) {
    return { ok: false, message: `sourceKey threw: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (value === undefined) return { ok: true, key: undefined };
  const key = typeof value === 'string' ? value.trim() : '';
  if (key.length === 0 || key.length > MAX_SOURCE_KEY_LENGTH || hasControlCharacter(key) || textProblem(key) !== undefined)
    return { ok: false, message: `sourceKey must return undefined or 1 to ${MAX_SOURCE_KEY_LENGTH} characters of text without control characters` };
  return { ok: true, key };
}

/**
 * How the host should build the connector's `ctx.http`: the remote API's limits, so
 * every connection of the connector stays inside them.
 *
 * @example
 * ```ts
 * const http: ConnectorHttpPolicy = { timeoutMs: 15_000, rateLimit: { requests: 700, intervalMs: 60_000 }, retry: { maxRetries: 4 } };
 * ```
 */
export interface ConnectorHttpPolicy {
  /** Per-request timeout. @defaultValue 30_000 */
  timeoutMs?: number;
  /** The API's request budget per connection. @defaultValue unlimited */
  rateLimit?: RateLimitOptions;
  /** Retry policy. @defaultValue 3 retries, 500 ms base backoff */
  retry?: RetryOptions;
}

/**
 * A connector: what a plugin default-exports, built with {@link defineConnector}.
 *
 * @typeParam Schema - the zod object schema of the connection config.
 * @typeParam State - the cursor state `sync` returns and receives; the bare `ConnectorDefinition` (any state) is what the host holds.
 * @example
 * ```ts
 * const definition: ConnectorDefinition<typeof configSchema, { cursor: string | null }> = acme;
 * definition.sync?.(ctx, { cursor: null });
 * ```
 */
export interface ConnectorDefinition<Schema extends ConnectorConfigSchema = ConnectorConfigSchema, State extends object = object> {
  /** Unique lowercase slug (`acme-helpdesk`): the key of connections and of `source` on stored interactions. */
  readonly id: string;
  /** The contract version the connector was written against: {@link CONNECTOR_API_VERSION}. */
  readonly apiVersion: typeof CONNECTOR_API_VERSION;
  /** The connector's own semantic version (`1.2.0`), shown on the `connectors` query. */
  readonly version: string;
  /** Name shown to users (`Acme Helpdesk`). */
  readonly displayName: string;
  /** One or two sentences on what the connector imports. */
  readonly description: string;
  /** The connection config. Mark credentials with `secret()`. */
  readonly config: Schema;
  /** Push: verify and parse incoming webhook requests. */
  readonly webhook?: {
    /** Whether the request comes from the source; `context.now()` is the clock to check a replay window against. */
    verify(request: WebhookRequest, config: Readonly<ConfigOf<Schema>>, context?: WebhookContext): boolean | Promise<boolean>;
    parse(request: WebhookRequest, config: Readonly<ConfigOf<Schema>>, context?: WebhookContext): IngestBatch | Promise<IngestBatch>;
    /**
     * The endpoint is called by anyone (a write key shipped in a web page), not by a
     * system that holds a secret. The host then commits each record on its own
     * (PER_ROW) and answers every verified, well-formed delivery the same way
     * (`200 { received }`), whatever the stored data made of it: which records were
     * refused, and why, is recorded in the connection's run for operators, never
     * told to the sender (an answer such as IDENTIFIER_ERASED would reveal an
     * erased person). @defaultValue false
     */
    readonly public?: boolean;
  };
  /**
   * Pull: fetch the changes after `state` (see `SyncHandler`). The host saves
   * `nextState` only after the returned batch and every emitted batch are committed.
   */
  sync?(ctx: ConnectorContext<ConfigOf<Schema>, State>, state: Readonly<State> | undefined): Promise<SyncResult<State>>;
  /** Credentials test (see `CheckHandler`). */
  check?(ctx: ConnectorContext<ConfigOf<Schema>, State>): Promise<void>;
  /**
   * The remote account a config reaches, as a stable key (`acct_81`, a workspace id,
   * a subdomain): connections of this connector with the same key share one
   * deduplication scope, so a second connection to the same account, or one
   * deleted and created again, stores each `externalId` once. Called with the
   * validated config whenever a connection is created or its config changes;
   * return 1 to 200 characters that do not depend on credentials that rotate, or
   * `undefined` when the config names no account. Without a key each connection is
   * a scope of its own. @defaultValue none
   */
  sourceKey?(config: Readonly<ConfigOf<Schema>>): string | undefined;
  /** Limits of the remote API, applied to `ctx.http`. */
  readonly http?: ConnectorHttpPolicy;
}

/**
 * Defines a connector. Validates the definition at once (the same checks the host runs
 * when it loads the plugin, so a mistake fails the plugin's own tests) and returns it
 * frozen, typed by its config schema and state.
 *
 * @throws ConnectorLoadError when the definition breaks the contract.
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { defineConnector, secret, verifyWebhookSignature } from '@rapport/connector-kit';
 *
 * export default defineConnector({
 *   id: 'acme-helpdesk',
 *   apiVersion: 1,
 *   version: '1.2.0',
 *   displayName: 'Acme Helpdesk',
 *   description: 'Tickets and satisfaction ratings from Acme Helpdesk.',
 *   config: z.object({ apiKey: secret(z.string()), subdomain: z.string(), signingSecret: secret(z.string()) }),
 *   webhook: {
 *     verify: (request, config) =>
 *       verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers['x-rapport-signature'] }).ok,
 *     parse: (request) => toBatch(JSON.parse(request.body)),
 *   },
 *   sync: async (ctx, state: { cursor: string | null } | undefined) => {
 *     const page = await fetchTickets(ctx, state?.cursor ?? null);
 *     return { batch: toBatch(page.tickets), nextState: { cursor: page.next }, hasMore: page.next !== null };
 *   },
 * });
 * ```
 */
export function defineConnector<Schema extends ConnectorConfigSchema, State extends object = JsonObject>(
  definition: ConnectorDefinition<Schema, State>,
): ConnectorDefinition<Schema, State> {
  validateConnectorDefinition(definition);
  return Object.isFrozen(definition) ? definition : Object.freeze({ ...definition });
}

const SLUG = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_ID_LENGTH = 64;
// semver.org's recommended pattern.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const KNOWN_FIELDS = new Set(['id', 'apiVersion', 'version', 'displayName', 'description', 'config', 'webhook', 'sync', 'check', 'sourceKey', 'http']);

const httpPolicySchema = z.strictObject({
  timeoutMs: z.number().int().positive().optional(),
  rateLimit: z
    .strictObject({
      requests: z.number().positive(),
      intervalMs: z.number().positive(),
      maxWaitMs: z.number().nonnegative().optional(),
    })
    .optional(),
  retry: z
    .strictObject({
      maxRetries: z.number().int().nonnegative().optional(),
      baseDelayMs: z.number().nonnegative().optional(),
      maxDelayMs: z.number().nonnegative().optional(),
      maxRetryAfterMs: z.number().nonnegative().optional(),
    })
    .optional(),
});

/**
 * Checks that a value (a plugin's default export) is a connector definition this kit can
 * run: an object with a lowercase slug `id`, a supported `apiVersion`, a semantic
 * `version`, a `displayName` and `description`, a zod 4 object schema as `config`, at
 * least one of `webhook` and `sync`, functions as `sync`, `check` and `sourceKey`, and no
 * unknown fields. Returns it, frozen and typed.
 *
 * @throws ConnectorLoadError with a stable `code` and the `field` at fault.
 * @example
 * ```ts
 * const module = await import(pluginPath);
 * try {
 *   const definition = validateConnectorDefinition(module.default);
 *   registry.set(definition.id, definition);
 * } catch (error) {
 *   if (!(error instanceof ConnectorLoadError)) throw error;
 *   failed.push({ plugin: pluginPath, code: error.code, error: error.message });
 * }
 * ```
 */
export function validateConnectorDefinition(value: unknown): ConnectorDefinition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConnectorLoadError(
      'CONNECTOR_LOAD_NOT_A_DEFINITION',
      `A connector plugin must export the result of defineConnector({...}); got ${describeValue(value)}`,
    );
  }
  const candidate = value as Record<string, unknown>;

  const id = candidate['id'];
  if (typeof id !== 'string' || !SLUG.test(id) || id.length > MAX_ID_LENGTH) {
    throw new ConnectorLoadError(
      'CONNECTOR_LOAD_INVALID_ID',
      `Connector id must be a lowercase slug of at most ${MAX_ID_LENGTH} characters, such as "acme-helpdesk"; got ${describeValue(id)}`,
      { field: 'id', ...(typeof id === 'string' ? { connectorId: id } : {}) },
    );
  }
  const fail = (code: ConnectorLoadErrorCode, field: string, message: string): never => {
    throw new ConnectorLoadError(code, `Connector "${id}": ${message}`, { connectorId: id, field });
  };

  const apiVersion = candidate['apiVersion'];
  if (typeof apiVersion !== 'number' || !SUPPORTED_CONNECTOR_API_VERSIONS.includes(apiVersion)) {
    const supported = SUPPORTED_CONNECTOR_API_VERSIONS.join(', ');
    fail(
      'CONNECTOR_LOAD_UNSUPPORTED_API_VERSION',
      'apiVersion',
      apiVersion === undefined
        ? `apiVersion is missing; this Rapport supports connector API version ${supported}. Declare apiVersion: ${CONNECTOR_API_VERSION}.`
        : `targets connector API version ${describeValue(apiVersion)}, but this Rapport supports version ${supported}. ` +
            (typeof apiVersion === 'number' && apiVersion > CONNECTOR_API_VERSION
              ? 'Upgrade Rapport, or install a release of the connector built for a supported version.'
              : 'Rebuild the connector against the current connector kit.'),
    );
  }

  for (const key of Object.keys(candidate)) {
    if (!KNOWN_FIELDS.has(key)) {
      fail('CONNECTOR_LOAD_INVALID_FIELD', key, `unknown field "${key}"; a definition has ${[...KNOWN_FIELDS].join(', ')}`);
    }
  }

  const version = candidate['version'];
  if (typeof version !== 'string' || !SEMVER.test(version)) {
    fail('CONNECTOR_LOAD_INVALID_VERSION', 'version', `version must be a semantic version such as "1.2.0"; got ${describeValue(version)}`);
  }
  for (const field of ['displayName', 'description'] as const) {
    const text = candidate[field];
    if (typeof text !== 'string' || text.trim() === '') fail('CONNECTOR_LOAD_INVALID_FIELD', field, `${field} must be a non-empty string`);
  }

  const config = candidate['config'];
  if (!isZodObjectSchema(config)) {
    fail(
      'CONNECTOR_LOAD_INVALID_CONFIG_SCHEMA',
      'config',
      `config must be a zod 4 object schema, such as z.object({ apiKey: secret(z.string()) }); got ${describeValue(config)}`,
    );
  }
  try {
    describeConfig(config as ConnectorConfigSchema);
  } catch (error) {
    fail('CONNECTOR_LOAD_INVALID_CONFIG_SCHEMA', 'config', `config schema cannot be described: ${error instanceof Error ? error.message : String(error)}`);
  }

  const webhook = candidate['webhook'];
  if (webhook !== undefined) {
    if (typeof webhook !== 'object' || webhook === null)
      fail('CONNECTOR_LOAD_INVALID_FIELD', 'webhook', 'webhook must be an object with verify and parse functions');
    for (const method of ['verify', 'parse'] as const) {
      if (typeof (webhook as Record<string, unknown>)[method] !== 'function')
        fail('CONNECTOR_LOAD_INVALID_FIELD', `webhook.${method}`, `webhook.${method} must be a function`);
    }
    const isPublic = (webhook as Record<string, unknown>)['public'];
    if (isPublic !== undefined && typeof isPublic !== 'boolean') fail('CONNECTOR_LOAD_INVALID_FIELD', 'webhook.public', 'webhook.public must be a boolean');
  }
  for (const field of ['sync', 'check', 'sourceKey'] as const) {
    if (candidate[field] !== undefined && typeof candidate[field] !== 'function') fail('CONNECTOR_LOAD_INVALID_FIELD', field, `${field} must be a function`);
  }
  if (webhook === undefined && candidate['sync'] === undefined) {
    fail('CONNECTOR_LOAD_NO_CAPABILITY', 'webhook', 'a connector needs webhook (push), sync (pull), or both');
  }

  if (candidate['http'] !== undefined) {
    const policy = httpPolicySchema.safeParse(candidate['http']);
    if (!policy.success) {
      const issue = policy.error.issues[0];
      const path = formatIssuePath(['http', ...issue.path]);
      fail('CONNECTOR_LOAD_INVALID_FIELD', path, `${path}: ${issue.message}`);
    }
  }

  const definition = candidate as unknown as ConnectorDefinition;
  return Object.isFrozen(definition) ? definition : Object.freeze({ ...definition });
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function isZodObjectSchema(value: unknown): boolean {
  // Duck-typed rather than instanceof: a plugin installed as a package may bring its own copy of zod 4.
  if (typeof value !== 'object' || value === null) return false;
  const internals = (value as { _zod?: { def?: { type?: unknown; shape?: unknown }; version?: { major?: unknown } } })._zod;
  return (
    internals?.version?.major === 4 &&
    internals.def?.type === 'object' &&
    typeof internals.def.shape === 'object' &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

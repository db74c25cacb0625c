import type { HttpClient } from './http-client';
import type { IngestBatch } from './ingest-batch';
import type { ValidationIssue } from './issue-path';
import type { JsonObject } from './json';

/**
 * Structured fields attached to a log line. Keep them JSON-friendly; never log secrets
 * (the host redacts declared secret values, but not copies of them you build yourself).
 *
 * @example
 * ```ts
 * const fields: LogFields = { page: 3, received: 100, cursor: state?.cursor };
 * ```
 */
export type LogFields = Record<string, unknown>;

/**
 * The logger a connector receives. Lines are tagged with the connector id, the
 * connection id and the run id by the host.
 *
 * @example
 * ```ts
 * ctx.logger.info('fetched page', { page: 3, tickets: 100 });
 * ctx.logger.warn('skipping ticket without requester', { ticketId: ticket.id });
 * ```
 */
export interface ConnectorLogger {
  /** Detail for debugging a connector; off by default in production. */
  debug(message: string, fields?: LogFields): void;
  /** Progress worth keeping. */
  info(message: string, fields?: LogFields): void;
  /** Something odd that the connector handled (a skipped record, a slow API). */
  warn(message: string, fields?: LogFields): void;
  /** A failure; prefer throwing a kit error when the run cannot go on. */
  error(message: string, fields?: LogFields): void;
}

/**
 * What the host did with an emitted batch. Rows are judged one by one: a rejected row
 * does not stop the others.
 *
 * @example
 * ```ts
 * const result: EmitResult = await ctx.emit(batch);
 * if (result.rejected > 0) ctx.logger.warn('rows rejected', { errors: result.errors });
 * ```
 */
export interface EmitResult {
  /** Customers and interactions stored or updated. */
  accepted: number;
  /** Interactions already stored under the same (`source`, `externalId`): absorbed, not an error. */
  duplicates: number;
  /** Rows refused; see `errors`. */
  rejected: number;
  /** Why each refused row was refused, with its path in the batch (`interactions[4].occurredAt`). */
  errors: ValidationIssue[];
}

/**
 * The narrow context a connector receives for a sync or a check: its own validated
 * config with secrets decrypted, a logger, an HTTP client with timeouts, a request budget
 * and backoff, its own cursor state, and `emit`. It never receives the database or any
 * other connection's data.
 *
 * @typeParam Config - the connector's config type (`z.output` of its schema).
 * @typeParam State - the connector's cursor state.
 * @example
 * ```ts
 * sync: async (ctx, state) => {
 *   const api = ctx.http.withDefaults({ baseUrl: `https://${ctx.config.subdomain}.acme.test/api`, headers: { authorization: `Bearer ${ctx.config.apiKey}` } });
 *   const page = await api.getJson<TicketPage>('/tickets', { query: { cursor: state?.cursor }, signal: ctx.signal });
 *   await ctx.emit({ interactions: page.tickets.map(toInteraction) });
 *   return { nextState: { cursor: page.next }, hasMore: page.next !== null };
 * },
 * ```
 */
export interface ConnectorContext<Config = Record<string, unknown>, State extends object = JsonObject> {
  /** The connection's config: validated against the schema, defaults applied, secrets decrypted. */
  readonly config: Readonly<Config>;
  /** Structured logger, tagged with the connection and run. */
  readonly logger: ConnectorLogger;
  /** HTTP client over `fetch` with per-request timeout, a request budget, retries with backoff and `Retry-After`. */
  readonly http: HttpClient;
  /** The last committed cursor state (the same value `sync` receives); `undefined` on the first run. Frozen. */
  readonly state: Readonly<State> | undefined;
  /**
   * Hands a batch to the ingest service and resolves once it is committed. Use it to
   * stream large pages; the host commits every emitted batch before it saves the
   * `nextState` that `sync` returns.
   */
  emit(batch: IngestBatch): Promise<EmitResult>;
  /** Aborted when the run is cancelled or exceeds its time limit; pass it to `http` calls and stop promptly. */
  readonly signal: AbortSignal;
  /** The current time. Use it instead of `new Date()` so tests can move the clock. */
  now(): Date;
}

/**
 * What one `sync` call returns.
 *
 * @example
 * ```ts
 * const result: SyncResult<{ cursor: string | null }> = { batch: { interactions }, nextState: { cursor: page.next }, hasMore: page.next !== null };
 * ```
 */
export interface SyncResult<State extends object = JsonObject> {
  /** Records to commit, in addition to any already passed to `ctx.emit`. */
  batch?: IngestBatch;
  /**
   * The cursor to resume from. Must be JSON (it is stored in jsonb). The host saves it
   * only after this call's batch and every emitted batch are committed, so a crash
   * resumes from the last committed cursor and re-delivered records are absorbed by
   * their `externalId`s.
   */
  nextState: State;
  /** `true` when more data is ready now: the host calls `sync` again with `nextState` in the same run. @defaultValue false */
  hasMore?: boolean;
}

/**
 * A pull connector: fetch one page (or one time window) of changes after `state`,
 * return it with the cursor that follows. Resumable by construction: everything the
 * function needs to continue is in `state`. Throw `RateLimitedError` or `RetryableError`
 * to end the run early as a partial success; the next run resumes from the last saved state.
 *
 * @param ctx - the narrow context; `ctx.state` is the same value as `state`.
 * @param state - the last committed `nextState`, frozen; `undefined` on the first run.
 * @example
 * ```ts
 * const sync: SyncHandler<AcmeConfig, { updatedSince: string }> = async (ctx, state) => {
 *   const since = state?.updatedSince ?? '1970-01-01T00:00:00Z';
 *   const tickets = await fetchTicketsUpdatedSince(ctx, since);
 *   return { batch: { interactions: tickets.map(toInteraction) }, nextState: { updatedSince: latestUpdate(tickets) ?? since } };
 * };
 * ```
 */
export type SyncHandler<Config = Record<string, unknown>, State extends object = JsonObject> = (
  ctx: ConnectorContext<Config, State>,
  state: Readonly<State> | undefined,
) => Promise<SyncResult<State>>;

/**
 * An incoming webhook request as the connector sees it. Header names are lower-cased;
 * a header sent several times is joined with `, `.
 *
 * @example
 * ```ts
 * const request: WebhookRequest = { headers: { 'content-type': 'application/json', 'x-rapport-signature': header }, body, rawBody: Buffer.from(body) };
 * ```
 */
export interface WebhookRequest {
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The raw body decoded as UTF-8. */
  body: string;
  /** The raw body bytes, exactly as received: verify signatures over these. */
  rawBody: Buffer;
}

/**
 * A push connector. The host calls `verify` first and answers 401 when it returns
 * `false` (or throws `WebhookVerificationError`); then `parse`, and answers 400 with the
 * reason when it throws `MalformedPayloadError` or returns an invalid batch. The response
 * is 2xx only after the batch is committed, so a sender that retries never loses data,
 * and stable `externalId`s make the retries harmless.
 *
 * @example
 * ```ts
 * const webhook: WebhookHandler<AcmeConfig> = {
 *   verify: (request, config) =>
 *     verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers['x-rapport-signature'] }).ok,
 *   parse: (request) => {
 *     const event = JSON.parse(request.body) as AcmeEvent;
 *     return { interactions: [toInteraction(event)] };
 *   },
 * };
 * ```
 */
export interface WebhookHandler<Config = Record<string, unknown>> {
  /** Whether the request really comes from the source (signature, replay window). Must not throw for a bad signature other than `WebhookVerificationError`. */
  verify(request: WebhookRequest, config: Readonly<Config>, context?: WebhookContext): boolean | Promise<boolean>;
  /** Turns a verified request into a batch. Deterministic: the same request gives the same batch. */
  parse(request: WebhookRequest, config: Readonly<Config>, context?: WebhookContext): IngestBatch | Promise<IngestBatch>;
}

/**
 * What `webhook.verify` and `webhook.parse` receive besides the request and the config:
 * the clock. Check replay windows against `context.now()`, not `new Date()`, so the
 * conformance suite's fake clock reaches them and a test can sign at a fixed time.
 * Rapport and the suite always pass it; it is optional so that calls written before it
 * (`verify(request, config)` in a test) still compile: fall back with `context?.now() ?? new Date()`.
 *
 * @example
 * ```ts
 * verify: (request, config, context) =>
 *   verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers[WEBHOOK_SIGNATURE_HEADER], now: context?.now() }).ok,
 * ```
 */
export interface WebhookContext {
  /** The current time: the real one in Rapport, the fake clock in the conformance suite. */
  now(): Date;
}

/**
 * A credentials test, run when a connection is created or updated and from the UI's
 * "Test connection" button. Resolve when the config works; throw `AuthenticationError`
 * for refused credentials and `ConfigError` for a setting that is wrong.
 *
 * @example
 * ```ts
 * const check: CheckHandler<AcmeConfig> = async (ctx) => {
 *   const response = await ctx.http.request(`https://${ctx.config.subdomain}.acme.test/api/me`, { headers: { authorization: `Bearer ${ctx.config.apiKey}` } });
 *   if (response.status === 401) throw new AuthenticationError('Acme rejected the API key');
 * };
 * ```
 */
export type CheckHandler<Config = Record<string, unknown>, State extends object = JsonObject> = (ctx: ConnectorContext<Config, State>) => Promise<void>;

/**
 * The errors a connector throws, and the errors the kit throws about a connector.
 *
 * Every error carries a stable `code` from {@link CONNECTOR_ERROR_CODES}: the host
 * decides what to do from the code (retry later, mark the connection as needing new
 * credentials, answer a webhook with 401 or 400), never from the message text.
 */

/**
 * The catalog of stable error codes. Codes never change meaning once published;
 * new failures get new codes.
 *
 * @example
 * ```ts
 * if (error instanceof ConnectorError && error.code === CONNECTOR_ERROR_CODES.AUTHENTICATION) {
 *   await markConnectionNeedsCredentials(connection.id);
 * }
 * ```
 */
export const CONNECTOR_ERROR_CODES = {
  /** A transient failure: the same call may succeed later. */
  RETRYABLE: 'CONNECTOR_RETRYABLE',
  /** The remote API (or the client's own budget) asks us to slow down. */
  RATE_LIMITED: 'CONNECTOR_RATE_LIMITED',
  /** A request did not complete within its timeout. */
  HTTP_TIMEOUT: 'CONNECTOR_HTTP_TIMEOUT',
  /** The remote API answered with a status the caller did not expect. */
  HTTP_STATUS: 'CONNECTOR_HTTP_STATUS',
  /** The HTTP client refused to connect: the host is not public and not in the operator's allowlist, or the scheme is not HTTP(S). */
  EGRESS_DENIED: 'CONNECTOR_EGRESS_DENIED',
  /** A request was redirected more times than the client allows. */
  TOO_MANY_REDIRECTS: 'CONNECTOR_TOO_MANY_REDIRECTS',
  /** The credentials in the connection's config were refused. */
  AUTHENTICATION: 'CONNECTOR_AUTHENTICATION',
  /** A config value is wrong in a way the schema could not catch. */
  CONFIG: 'CONNECTOR_CONFIG',
  /** A webhook request's signature is missing, wrong or outside its replay window. */
  WEBHOOK_VERIFICATION: 'CONNECTOR_WEBHOOK_VERIFICATION',
  /** A payload (webhook body, API response, emitted batch) does not have the expected shape. */
  MALFORMED_PAYLOAD: 'CONNECTOR_MALFORMED_PAYLOAD',
  /** The plugin's default export is not an object. */
  LOAD_NOT_A_DEFINITION: 'CONNECTOR_LOAD_NOT_A_DEFINITION',
  /** `id` is missing or not a lowercase slug. */
  LOAD_INVALID_ID: 'CONNECTOR_LOAD_INVALID_ID',
  /** `apiVersion` is not one this kit supports. */
  LOAD_UNSUPPORTED_API_VERSION: 'CONNECTOR_LOAD_UNSUPPORTED_API_VERSION',
  /** `version` is not a semantic version. */
  LOAD_INVALID_VERSION: 'CONNECTOR_LOAD_INVALID_VERSION',
  /** `config` is not a zod object schema. */
  LOAD_INVALID_CONFIG_SCHEMA: 'CONNECTOR_LOAD_INVALID_CONFIG_SCHEMA',
  /** The definition declares neither `webhook` nor `sync`. */
  LOAD_NO_CAPABILITY: 'CONNECTOR_LOAD_NO_CAPABILITY',
  /** A field of the definition has the wrong type, or the definition has a field the contract does not know. */
  LOAD_INVALID_FIELD: 'CONNECTOR_LOAD_INVALID_FIELD',
} as const;

/**
 * One of the stable codes in {@link CONNECTOR_ERROR_CODES}.
 *
 * @example
 * ```ts
 * const code: ConnectorErrorCode = 'CONNECTOR_RATE_LIMITED';
 * ```
 */
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[keyof typeof CONNECTOR_ERROR_CODES];

/**
 * The codes a {@link ConnectorLoadError} can carry.
 *
 * @example
 * ```ts
 * const code: ConnectorLoadErrorCode = 'CONNECTOR_LOAD_UNSUPPORTED_API_VERSION';
 * ```
 */
export type ConnectorLoadErrorCode = Extract<ConnectorErrorCode, `CONNECTOR_LOAD_${string}`>;

/**
 * Options shared by every connector error.
 *
 * @example
 * ```ts
 * throw new AuthenticationError('Acme refused the API key', { cause: error });
 * ```
 */
export interface ConnectorErrorOptions {
  /** The underlying error, kept for the host's logs. */
  cause?: unknown;
}

/**
 * Base class of every error in the kit. Catch this to handle any connector failure;
 * switch on `code` to decide what to do.
 *
 * @example
 * ```ts
 * try {
 *   await definition.sync!(ctx, state);
 * } catch (error) {
 *   if (error instanceof ConnectorError && error.retryable) scheduleRetry(error);
 *   else throw error;
 * }
 * ```
 */
export class ConnectorError extends Error {
  /** A stable code from {@link CONNECTOR_ERROR_CODES}. */
  readonly code: ConnectorErrorCode;

  constructor(code: ConnectorErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  /** Whether running the same operation later may succeed. `false` unless the subclass says otherwise. */
  get retryable(): boolean {
    return false;
  }
}

/**
 * Options of a {@link RetryableError}.
 *
 * @example
 * ```ts
 * throw new RetryableError('Acme is in maintenance', { retryAfterMs: 60_000 });
 * ```
 */
export interface RetryableErrorOptions extends ConnectorErrorOptions {
  /** How long to wait before trying again, when the remote side said so. */
  retryAfterMs?: number;
  /** The HTTP status that caused the failure, when there was one. */
  status?: number;
}

/**
 * A transient failure: the remote service is down, the network dropped, a 5xx came
 * back. The host ends a sync run as a partial success and resumes from the last
 * committed cursor on the next run; a webhook answered with this error gets a 503
 * so the sender redelivers.
 *
 * @example
 * ```ts
 * if (response.status === 502) throw new RetryableError('Acme gateway error', { status: 502 });
 * ```
 */
export class RetryableError extends ConnectorError {
  /** How long to wait before trying again, if known. */
  readonly retryAfterMs: number | undefined;
  /** The HTTP status that caused the failure, if any. */
  readonly status: number | undefined;

  /**
   * @param code - for subclasses only; partners leave it out.
   */
  constructor(message: string, options: RetryableErrorOptions = {}, code: ConnectorErrorCode = CONNECTOR_ERROR_CODES.RETRYABLE) {
    super(code, message, options);
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }

  override get retryable(): boolean {
    return true;
  }
}

/**
 * Options of a {@link RateLimitedError}: unlike a plain retryable error, the wait is
 * always known.
 *
 * @example
 * ```ts
 * throw new RateLimitedError({ retryAfterMs: 3_600_000, message: 'Acme quota used up' });
 * ```
 */
export interface RateLimitedErrorOptions extends RetryableErrorOptions {
  /** How long to wait before the next request may succeed. */
  retryAfterMs: number;
  /** What happened, for the run's error. @defaultValue `rate limited: retry after <retryAfterMs> ms` */
  message?: string;
}

/**
 * The remote API (429, or 503 with `Retry-After`) or the client's own request budget
 * says to stop for a while. The host ends the run as a partial success, keeps every
 * committed batch and cursor, and schedules the next run no earlier than `retryAfterMs`.
 * The kit's HTTP client throws it for you; throw it yourself for quota signals that
 * arrive in a response body.
 *
 * Takes its options alone (`new RateLimitedError({ retryAfterMs, message? })`), or a
 * message first (`new RateLimitedError(message, { retryAfterMs })`): both forms are part
 * of the contract.
 *
 * @example
 * ```ts
 * if (body.error === 'daily_quota_exceeded') {
 *   throw new RateLimitedError({ retryAfterMs: msUntilMidnightUtc(ctx.now()), message: 'Acme daily quota exhausted' });
 * }
 * ```
 */
export class RateLimitedError extends RetryableError {
  declare readonly retryAfterMs: number;

  constructor(options: RateLimitedErrorOptions);
  constructor(message: string, options: RateLimitedErrorOptions);
  constructor(messageOrOptions: string | RateLimitedErrorOptions, given?: RateLimitedErrorOptions) {
    const options = typeof messageOrOptions === 'string' ? given : messageOrOptions;
    if (typeof options?.retryAfterMs !== 'number' || !Number.isFinite(options.retryAfterMs) || options.retryAfterMs < 0) {
      throw new TypeError('RateLimitedError needs { retryAfterMs }: a number of milliseconds, 0 or more');
    }
    const message = typeof messageOrOptions === 'string' ? messageOrOptions : (options.message ?? `rate limited: retry after ${options.retryAfterMs} ms`);
    super(message, options, CONNECTOR_ERROR_CODES.RATE_LIMITED);
  }
}

/**
 * A request did not complete within the HTTP client's timeout. Retryable: the
 * client retries idempotent requests itself and throws this once its retries are spent.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof HttpTimeoutError) ctx.logger.warn('Acme is slow', { url: error.url }); }
 * ```
 */
export class HttpTimeoutError extends RetryableError {
  /** The URL that timed out. */
  readonly url: string;
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number, options: ConnectorErrorOptions = {}) {
    super(`Request to ${url} did not complete within ${timeoutMs} ms`, options, CONNECTOR_ERROR_CODES.HTTP_TIMEOUT);
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The remote API answered a JSON helper (`getJson`, `postJson`) with a status that is
 * neither a success nor something the client retries (for example 404 or 422).
 * 401 and 403 become {@link AuthenticationError} instead.
 *
 * @example
 * ```ts
 * try { await api.getJson(`/tickets/${id}`); }
 * catch (error) { if (error instanceof HttpStatusError && error.status === 404) return undefined; throw error; }
 * ```
 */
export class HttpStatusError extends ConnectorError {
  /** The HTTP status of the response. */
  readonly status: number;
  /** The URL that was requested. */
  readonly url: string;
  /** The first kilobyte of the response body, for the logs. */
  readonly bodySnippet: string;

  constructor(url: string, status: number, bodySnippet: string, options: ConnectorErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.HTTP_STATUS, `Request to ${url} failed with HTTP ${status}`, options);
    this.url = url;
    this.status = status;
    this.bodySnippet = bodySnippet;
  }
}

/**
 * The kit's HTTP client refused a request before connecting: its host (or a redirect's)
 * is loopback, private, link-local, a cloud metadata endpoint or otherwise not public,
 * and the operator has not allowlisted it (`RAPPORT_CONNECTOR_ALLOWED_HOSTS`); or its
 * scheme is not HTTP(S). Nothing was sent to the target, so the message never carries
 * anything from it. Not retryable: the config (or the remote API's redirect) must change.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof EgressDeniedError) throw new ConfigError('baseUrl', error.message); }
 * ```
 */
export class EgressDeniedError extends ConnectorError {
  /** The refused target, as `scheme://host:port` (no path or query, which may carry keys). */
  readonly target: string;

  constructor(target: string, reason: string, options: ConnectorErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.EGRESS_DENIED, `Connecting to ${target} is not allowed: ${reason}`, options);
    this.target = target;
  }
}

/**
 * A request was redirected more often than the client's `maxRedirects`. Not retryable.
 *
 * @example
 * ```ts
 * const http = createHttpClient({ maxRedirects: 2 }); // a third redirect throws TooManyRedirectsError
 * ```
 */
export class TooManyRedirectsError extends ConnectorError {
  /** The URL first requested (origin and path). */
  readonly url: string;
  /** The limit that was reached. */
  readonly maxRedirects: number;

  constructor(url: string, maxRedirects: number, options: ConnectorErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.TOO_MANY_REDIRECTS, `Request to ${url} was redirected more than ${maxRedirects} times`, options);
    this.url = url;
    this.maxRedirects = maxRedirects;
  }
}

/**
 * The remote service refused the connection's credentials. Retrying will not help:
 * the host marks the connection as needing attention and stops scheduling it.
 *
 * @example
 * ```ts
 * check: async (ctx) => {
 *   const response = await ctx.http.request('https://api.acme.test/me');
 *   if (response.status === 401) throw new AuthenticationError('Acme rejected the API key');
 * },
 * ```
 */
export class AuthenticationError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.AUTHENTICATION, message, options);
  }
}

/**
 * A config value passed the schema but is still wrong (a subdomain that does not
 * exist, an account without the needed scope). Names the field so the UI can point at it.
 *
 * @example
 * ```ts
 * if (response.status === 404) throw new ConfigError('subdomain', `No Acme account at ${ctx.config.subdomain}.acme.test`);
 * ```
 */
export class ConfigError extends ConnectorError {
  /** The config field at fault, as a dotted path (`subdomain`, `oauth.clientId`). */
  readonly field: string;

  constructor(field: string, message: string, options: ConnectorErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.CONFIG, message, options);
    this.field = field;
  }
}

/**
 * Why a webhook signature was rejected. Stable values, safe to log and to count.
 *
 * @example
 * ```ts
 * const reason: WebhookVerificationFailure = 'timestamp_too_old';
 * ```
 */
export type WebhookVerificationFailure = 'missing_header' | 'malformed_header' | 'signature_mismatch' | 'timestamp_too_old' | 'timestamp_in_future';

/**
 * A webhook request failed verification. The host answers 401 and stores nothing.
 *
 * @example
 * ```ts
 * const result = verifyWebhookSignature({ secret, body: request.body, header: request.headers['x-acme-signature'] });
 * if (!result.ok) throw new WebhookVerificationError(result.reason);
 * ```
 */
export class WebhookVerificationError extends ConnectorError {
  /** Why verification failed. */
  readonly reason: WebhookVerificationFailure;

  constructor(reason: WebhookVerificationFailure, message = `Webhook signature rejected: ${reason}`, options: ConnectorErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.WEBHOOK_VERIFICATION, message, options);
    this.reason = reason;
  }
}

/**
 * Options of a {@link MalformedPayloadError}.
 *
 * @example
 * ```ts
 * throw new MalformedPayloadError('event.type is missing', { path: 'event.type' });
 * ```
 */
export interface MalformedPayloadErrorOptions extends ConnectorErrorOptions {
  /** Where in the payload the problem is, as a dotted path. */
  path?: string;
}

/**
 * A payload does not have the shape the connector expects: a webhook body that is not
 * JSON, an event without an id, an API response missing its cursor. The host answers a
 * webhook with 400 and the reason; in a sync it records the error on the run.
 *
 * @example
 * ```ts
 * parse: (request) => {
 *   const event = JSON.parse(request.body) as { id?: string };
 *   if (!event.id) throw new MalformedPayloadError('event has no id', { path: 'id' });
 *   return toBatch(event);
 * },
 * ```
 */
export class MalformedPayloadError extends ConnectorError {
  /** What is wrong, in words a partner can act on. */
  readonly reason: string;
  /** Where in the payload the problem is, if known. */
  readonly path: string | undefined;

  constructor(reason: string, options: MalformedPayloadErrorOptions = {}) {
    super(CONNECTOR_ERROR_CODES.MALFORMED_PAYLOAD, options.path ? `Malformed payload at ${options.path}: ${reason}` : `Malformed payload: ${reason}`, options);
    this.reason = reason;
    this.path = options.path;
  }
}

/**
 * Options of a {@link ConnectorLoadError}.
 *
 * @example
 * ```ts
 * throw new ConnectorLoadError('CONNECTOR_LOAD_INVALID_ID', 'id must be a slug', { connectorId: 'Acme', field: 'id' });
 * ```
 */
export interface ConnectorLoadErrorOptions extends ConnectorErrorOptions {
  /** The id the definition declared, when it had a readable one. */
  connectorId?: string;
  /** The definition field at fault. */
  field?: string;
}

/**
 * A plugin's definition does not satisfy the contract. Thrown by
 * `validateConnectorDefinition` (and so by `defineConnector`); the host reports it on
 * the `connectors` query and keeps every other plugin running.
 *
 * @example
 * ```ts
 * try {
 *   loaded.push(validateConnectorDefinition(module.default));
 * } catch (error) {
 *   if (error instanceof ConnectorLoadError) failed.push({ path, code: error.code, error: error.message });
 *   else throw error;
 * }
 * ```
 */
export class ConnectorLoadError extends ConnectorError {
  declare readonly code: ConnectorLoadErrorCode;
  /** The id the definition declared, when it had a readable one. */
  readonly connectorId: string | undefined;
  /** The definition field at fault. */
  readonly field: string | undefined;

  constructor(code: ConnectorLoadErrorCode, message: string, options: ConnectorLoadErrorOptions = {}) {
    super(code, message, options);
    this.connectorId = options.connectorId;
    this.field = options.field;
  }
}

/**
 * Whether a value is a kit error. Prefer this to `instanceof` in the host: a plugin
 * installed as a package may bundle its own copy of the kit, whose classes are distinct.
 *
 * @example
 * ```ts
 * if (isConnectorError(error) && error.retryable) return { status: 'partial', retryAfterMs: retryAfterOf(error) };
 * ```
 */
export function isConnectorError(value: unknown): value is ConnectorError {
  if (value instanceof ConnectorError) return true;
  if (!(value instanceof Error)) return false;
  const code = (value as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (Object.values(CONNECTOR_ERROR_CODES) as string[]).includes(code) &&
    typeof (value as { retryable?: unknown }).retryable === 'boolean'
  );
}

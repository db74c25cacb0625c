import type { z } from 'zod';
import type { ConnectorLogger } from './context';
import { EgressGuard, type EgressPolicy, type EgressResolver } from './egress';
import {
  AuthenticationError,
  ConnectorError,
  EgressDeniedError,
  HttpStatusError,
  HttpTimeoutError,
  MalformedPayloadError,
  RateLimitedError,
  RetryableError,
  TooManyRedirectsError,
} from './errors';
import { toValidationIssues } from './issue-path';
import { createGuardedTransport, type HopRequest, type Transport } from './transport';

/**
 * The subset of `fetch` the client needs. Inject one in tests to fake a remote API.
 * An injected `fetch` replaces the client's own transport, and with it the egress
 * guard (which resolves and pins addresses): only the redirect cap still applies, so
 * never inject one that reaches the network in production. The client calls it with
 * `redirect: 'manual'` and follows redirects itself.
 *
 * @example
 * ```ts
 * const fetchFromFixtures: FetchLike = async (url) => new Response(JSON.stringify(fixtures[url]), { status: 200 });
 * ```
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * A request budget as a token bucket: up to `requests` at once, refilled at `requests`
 * per `intervalMs`. A request waits for a token; if it would wait longer than
 * `maxWaitMs`, it throws {@link RateLimitedError} instead, so the host can end the run
 * as a partial success rather than hold a worker.
 *
 * @example
 * ```ts
 * // Acme allows 100 requests per minute.
 * const rateLimit: RateLimitOptions = { requests: 100, intervalMs: 60_000 };
 * ```
 */
export interface RateLimitOptions {
  /** Requests allowed per interval, and the largest burst. */
  requests: number;
  /** The interval, in milliseconds. */
  intervalMs: number;
  /** Longest a request may wait for the budget (or for a `Retry-After` pause) before throwing. @defaultValue 60_000 */
  maxWaitMs?: number;
}

/**
 * When and how the client retries. Retried: network errors, timeouts and 408/500/502/504
 * for idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, or `idempotent: true`), and
 * 429 and 503 for every request (the server did not process it). The wait is the
 * server's `Retry-After` when it sent one, otherwise exponential backoff with jitter.
 *
 * @example
 * ```ts
 * const retry: RetryOptions = { maxRetries: 5, baseDelayMs: 1_000, maxRetryAfterMs: 120_000 };
 * ```
 */
export interface RetryOptions {
  /** Retries after the first attempt. @defaultValue 3 */
  maxRetries?: number;
  /** Backoff before the first retry; doubles each retry, half of it randomised. @defaultValue 500 */
  baseDelayMs?: number;
  /** Cap on one backoff wait. @defaultValue 30_000 */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited out: the request throws {@link RateLimitedError} at once. @defaultValue 60_000 */
  maxRetryAfterMs?: number;
}

/**
 * Options of {@link createHttpClient}. The host builds each connection's client from
 * the definition's `http` policy and the operator's egress allowlist; tests inject
 * `fetch` (or `resolve`), `now` and `sleep`.
 *
 * @example
 * ```ts
 * const options: HttpClientOptions = {
 *   baseUrl: 'https://demo.acme.test/api',
 *   headers: { authorization: `Bearer ${config.apiKey}` },
 *   timeoutMs: 10_000,
 *   rateLimit: { requests: 10, intervalMs: 1_000 },
 *   retry: { maxRetries: 4 },
 * };
 * ```
 */
export interface HttpClientOptions {
  /** Prefix for relative paths (`'/tickets'` → `${baseUrl}/tickets`). */
  baseUrl?: string;
  /** Headers sent with every request; per-request headers win. */
  headers?: Record<string, string>;
  /** Per-attempt timeout, covering the response headers and, for the JSON helpers, the body. @defaultValue 30_000 */
  timeoutMs?: number;
  /** Request budget; unlimited when absent. */
  rateLimit?: RateLimitOptions;
  /** Retry policy. */
  retry?: RetryOptions;
  /**
   * Which hosts may be reached. Without it only public addresses are: loopback, private,
   * link-local, metadata and other special addresses are refused with
   * {@link EgressDeniedError}, for the URL and for every redirect, after resolving names.
   * @defaultValue `{}`: public addresses only
   */
  egress?: EgressPolicy;
  /** Resolves host names before the egress check; the connection goes to the addresses it returns. @defaultValue the system resolver (`dns.lookup`) */
  resolve?: EgressResolver;
  /** Redirects followed per request; one more throws {@link TooManyRedirectsError}. Each hop is checked by the egress guard. @defaultValue 5 */
  maxRedirects?: number;
  /** Replaces the client's transport (see {@link FetchLike}: the egress guard does not apply to it). @defaultValue the guarded `node:http` transport */
  fetch?: FetchLike;
  /** Clock, in epoch milliseconds, for the budget and `Retry-After` dates. @defaultValue `Date.now` */
  now?: () => number;
  /** Waits between retries and for the budget; must reject when `signal` aborts. @defaultValue a `setTimeout` sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of jitter in [0, 1). @defaultValue `Math.random` */
  random?: () => number;
  /** Cancels every request of the client (the run's signal). */
  signal?: AbortSignal;
  /** Receives a debug line per retry and budget wait. */
  logger?: ConnectorLogger;
}

/**
 * Options of one request.
 *
 * @example
 * ```ts
 * await api.request('/tickets', { method: 'GET', query: { updated_since: since, per_page: 100 }, signal: ctx.signal });
 * ```
 */
export interface HttpRequestOptions {
  /** @defaultValue 'GET' */
  method?: string;
  /** Extra headers; they override the client's. */
  headers?: Record<string, string>;
  /** Query parameters appended to the URL; `undefined` and `null` are left out. */
  query?: Record<string, string | number | boolean | null | undefined>;
  /** The request body. */
  body?: string | Uint8Array | URLSearchParams;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
  /** Cancels this request. */
  signal?: AbortSignal;
  /** Whether the request may be retried after a network error, a timeout or a 5xx. @defaultValue true for GET, HEAD, OPTIONS, PUT, DELETE */
  idempotent?: boolean;
}

/**
 * Options of the JSON helpers: a request, optionally with a zod schema the response
 * must match (recommended: the response is a boundary).
 *
 * @example
 * ```ts
 * const page = await api.getJson('/tickets', { schema: ticketPageSchema, query: { cursor } });
 * ```
 */
export interface JsonRequestOptions<Schema extends z.ZodType | undefined = undefined> extends Omit<HttpRequestOptions, 'body'> {
  /** Validates the parsed body; a mismatch throws {@link MalformedPayloadError} naming the path. */
  schema?: Schema;
}

/**
 * Defaults layered onto an existing client by {@link HttpClient.withDefaults}.
 *
 * @example
 * ```ts
 * const defaults: HttpClientDefaults = { baseUrl: 'https://demo.acme.test/api', headers: { authorization: 'Bearer …' } };
 * ```
 */
export interface HttpClientDefaults {
  /** Replaces the base URL. */
  baseUrl?: string;
  /** Merged over the client's headers. */
  headers?: Record<string, string>;
}

type JsonResult<Schema extends z.ZodType | undefined, T> = Schema extends z.ZodType ? z.output<Schema> : T;

/**
 * An HTTP client with a per-request timeout, a request budget and retries. It throws
 * {@link RateLimitedError} when the budget or the retries on 429/503 run out,
 * {@link RetryableError} when retries on other failures run out, and
 * {@link HttpTimeoutError} when the last attempt timed out.
 *
 * @example
 * ```ts
 * const api = ctx.http.withDefaults({ baseUrl: 'https://demo.acme.test/api', headers: { authorization: `Bearer ${ctx.config.apiKey}` } });
 * const me = await api.getJson<{ id: string }>('/me', { signal: ctx.signal });
 * ```
 */
export interface HttpClient {
  /**
   * Sends a request and returns the response for any status it does not retry (so 404
   * and 422 come back as responses). The timeout covers the response headers; read the
   * body promptly.
   */
  request(path: string, options?: HttpRequestOptions): Promise<Response>;
  /**
   * GETs JSON. Non-2xx statuses throw: 401/403 as {@link AuthenticationError}, others as
   * {@link HttpStatusError}; a body that is not JSON throws {@link MalformedPayloadError}.
   */
  getJson<T = unknown, Schema extends z.ZodType | undefined = undefined>(path: string, options?: JsonRequestOptions<Schema>): Promise<JsonResult<Schema, T>>;
  /** POSTs `body` as JSON and parses the JSON response, like {@link HttpClient.getJson}. Not retried after a network error unless `idempotent: true`. */
  postJson<T = unknown, Schema extends z.ZodType | undefined = undefined>(
    path: string,
    body: unknown,
    options?: JsonRequestOptions<Schema>,
  ): Promise<JsonResult<Schema, T>>;
  /** A client sharing this one's budget and `Retry-After` pauses, with another base URL or extra headers. */
  withDefaults(defaults: HttpClientDefaults): HttpClient;
}

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
// 429 and 503 mean the server did not act on the request, so even a POST is safe to resend.
const NOT_PROCESSED_STATUSES = new Set([429, 503]);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_BASE_DELAY_MS = 500;
const DEFAULT_MAX_DELAY_MS = 30_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
const DEFAULT_MAX_WAIT_MS = 60_000;
const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Credentials that must not follow a redirect to another origin (as `fetch` drops them). */
const CROSS_ORIGIN_DROPPED_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Creates an {@link HttpClient} over `fetch` (or the injected one).
 *
 * @example
 * ```ts
 * const http = createHttpClient({
 *   baseUrl: 'https://demo.acme.test/api',
 *   rateLimit: { requests: 100, intervalMs: 60_000 },
 *   retry: { maxRetries: 3 },
 *   signal: run.signal,
 * });
 * const tickets = await http.getJson('/tickets', { schema: ticketPageSchema });
 * ```
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const now = options.now ?? Date.now;
  const budget = new RequestBudget(now, options.rateLimit);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new RangeError('maxRedirects must be a whole number, 0 or more');
  const transport = options.fetch ? fetchTransport(options.fetch) : createGuardedTransport(new EgressGuard(options.egress ?? {}, options.resolve));
  return buildClient(options, budget, transport, { baseUrl: options.baseUrl, headers: options.headers ?? {} });
}

/** An injected `fetch` as a transport: one hop, redirects handed back to the client. */
function fetchTransport(fetchImpl: FetchLike): Transport {
  return (url, request) =>
    fetchImpl(url.toString(), {
      method: request.method,
      headers: request.headers,
      redirect: 'manual',
      ...(request.body === undefined ? {} : { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) }),
      ...(request.signal ? { signal: request.signal } : {}),
    });
}

/**
 * Parses a `Retry-After` header (delay in seconds, or an HTTP date) into milliseconds
 * from `nowMs`; `undefined` when absent or unreadable. A date in the past gives 0.
 *
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now()); // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')); // 60000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Token bucket shared by a client and every client derived from it with `withDefaults`. */
class RequestBudget {
  private tokens: number;
  private updatedAt: number;
  private pausedUntil = 0;
  private readonly capacity: number;
  private readonly perMs: number;
  readonly maxWaitMs: number;

  constructor(
    private readonly now: () => number,
    limit: RateLimitOptions | undefined,
  ) {
    if (limit && (!(limit.requests > 0) || !(limit.intervalMs > 0))) {
      throw new RangeError('rateLimit.requests and rateLimit.intervalMs must be positive');
    }
    this.capacity = limit ? limit.requests : Infinity;
    this.perMs = limit ? limit.requests / limit.intervalMs : Infinity;
    this.tokens = this.capacity;
    this.updatedAt = now();
    this.maxWaitMs = limit?.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  /** Takes a token now and returns how long to wait before using it; throws when that is too long. */
  reserve(): number {
    const at = this.now();
    if (this.capacity !== Infinity) {
      this.tokens = Math.min(this.capacity, this.tokens + (at - this.updatedAt) * this.perMs);
    }
    this.updatedAt = at;
    this.tokens -= 1;
    const tokenWait = this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.perMs);
    const wait = Math.max(tokenWait, this.pausedUntil - at, 0);
    if (wait > this.maxWaitMs) {
      this.tokens += 1;
      throw new RateLimitedError(`Request budget exhausted: the next request could be sent in ${wait} ms`, { retryAfterMs: wait });
    }
    return wait;
  }

  /** Holds every request until the server's `Retry-After` has passed. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }
}

interface Attempt {
  url: string;
  request: Omit<HopRequest, 'signal'>;
  timeoutMs: number;
  idempotent: boolean;
  signals: AbortSignal[];
}

function buildClient(
  options: HttpClientOptions,
  budget: RequestBudget,
  transport: Transport,
  defaults: { baseUrl: string | undefined; headers: Record<string, string> },
): HttpClient {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const random = options.random ?? Math.random;
  const maxRetries = options.retry?.maxRetries ?? DEFAULT_MAX_RETRIES;
  const baseDelayMs = options.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const maxDelayMs = options.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const maxRetryAfterMs = options.retry?.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const clientTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const prepare = (path: string, request: HttpRequestOptions, extraHeaders: Record<string, string>): Attempt => {
    const method = (request.method ?? 'GET').toUpperCase();
    const headers = { ...lowerCaseKeys(defaults.headers), ...lowerCaseKeys(extraHeaders), ...lowerCaseKeys(request.headers ?? {}) };
    let body: string | Uint8Array | undefined;
    if (request.body instanceof URLSearchParams) {
      body = request.body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    } else body = request.body;
    const signals = [options.signal, request.signal].filter((signal): signal is AbortSignal => signal !== undefined);
    return {
      url: resolveUrl(defaults.baseUrl, path, request.query),
      request: { method, headers, ...(body === undefined ? {} : { body }) },
      timeoutMs: request.timeoutMs ?? clientTimeoutMs,
      idempotent: request.idempotent ?? IDEMPOTENT_METHODS.has(method),
      signals,
    };
  };

  /**
   * Runs attempts until one yields a response that is not retried, then hands it to
   * `read` while the attempt's timeout is still armed.
   */
  const exchange = async <T>(attempt: Attempt, read: (response: Response) => Promise<T>): Promise<T> => {
    const label = redactUrl(attempt.url);
    for (let retry = 0; ; retry++) {
      throwIfAborted(attempt.signals);
      const budgetWait = budget.reserve();
      if (budgetWait > 0) {
        options.logger?.debug('waiting for the request budget', { url: label, waitMs: budgetWait });
        await sleep(budgetWait, anySignal(attempt.signals));
      }

      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, attempt.timeoutMs);
      let failure: { error: ConnectorError; waitMs: number; pause: boolean; retryable: boolean };
      try {
        const response = await follow(attempt, label, anySignal([controller.signal, ...attempt.signals]) ?? controller.signal);
        if (!RETRYABLE_STATUSES.has(response.status)) return await read(response);

        await response.body?.cancel().catch(() => undefined);
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        const notProcessed = NOT_PROCESSED_STATUSES.has(response.status);
        const waitMs = retryAfterMs ?? backoff(retry);
        const error = notProcessed
          ? new RateLimitedError(`${label} answered HTTP ${response.status}; retry after ${waitMs} ms`, { retryAfterMs: waitMs, status: response.status })
          : new RetryableError(`${label} answered HTTP ${response.status}`, {
              status: response.status,
              ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
            });
        if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) {
          budget.pauseFor(retryAfterMs);
          throw error;
        }
        failure = { error, waitMs, pause: retryAfterMs !== undefined, retryable: notProcessed || attempt.idempotent };
      } catch (error) {
        if (error instanceof ConnectorError) throw error;
        throwIfAborted(attempt.signals);
        const waitMs = backoff(retry);
        failure = timedOut
          ? { error: new HttpTimeoutError(label, attempt.timeoutMs, { cause: error }), waitMs, pause: false, retryable: attempt.idempotent }
          : {
              error: new RetryableError(`Request to ${label} failed: ${describeError(error)}`, { cause: error }),
              waitMs,
              pause: false,
              retryable: attempt.idempotent,
            };
      } finally {
        clearTimeout(timer);
      }

      // The pause applies to every request sharing the budget, even when this one gives up.
      if (failure.pause) budget.pauseFor(failure.waitMs);
      if (!failure.retryable || retry >= maxRetries) throw failure.error;
      options.logger?.debug('retrying request', { url: label, attempt: retry + 1, waitMs: failure.waitMs, reason: failure.error.message });
      // With a pause in place the budget itself makes the next attempt wait.
      if (!failure.pause) await sleep(failure.waitMs, anySignal(attempt.signals));
    }
  };

  /**
   * Sends the request and follows redirects by hand, so the transport's egress guard
   * checks every hop and the hops are counted. A redirect to another origin drops the
   * credentials headers; 303 (and 301/302 after a POST) continue as a GET without body.
   */
  const follow = async (attempt: Attempt, label: string, signal: AbortSignal): Promise<Response> => {
    let url = new URL(attempt.url);
    let { method, headers, body } = attempt.request;
    for (let hop = 0; ; hop++) {
      const response = await transport(url, { method, headers, ...(body === undefined ? {} : { body }), signal });
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= maxRedirects) throw new TooManyRedirectsError(label, maxRedirects);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch (error) {
        throw new MalformedPayloadError(`${label} redirected to a Location that is not a URL`, { cause: error });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new EgressDeniedError(next.protocol, 'a redirect may only lead to http or https');
      if (next.origin !== url.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([key]) => !CROSS_ORIGIN_DROPPED_HEADERS.includes(key)));
      }
      if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([key]) => !key.startsWith('content-')));
      }
      options.logger?.debug('following a redirect', { url: label, to: redactUrl(next.toString()), status: response.status });
      url = next;
    }
  };

  const backoff = (retry: number): number => {
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };

  const readJson =
    <T>(attempt: Attempt, schema: z.ZodType | undefined) =>
    async (response: Response): Promise<T> => {
      const text = await response.text();
      const label = redactUrl(attempt.url);
      if (response.status === 401 || response.status === 403) {
        throw new AuthenticationError(`${label} refused the credentials (HTTP ${response.status})`, {
          cause: new HttpStatusError(label, response.status, text.slice(0, 1024)),
        });
      }
      if (!response.ok) throw new HttpStatusError(label, response.status, text.slice(0, 1024));
      let body: unknown;
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw new MalformedPayloadError(`${label} did not return JSON`, { cause: error });
        }
      }
      if (!schema) return body as T;
      const result = schema.safeParse(body);
      if (result.success) return result.data as T;
      const [first] = toValidationIssues(result.error.issues);
      throw new MalformedPayloadError(`response from ${label} does not match the expected shape: ${first?.message ?? 'invalid'}`, {
        path: first?.path || undefined,
        cause: result.error,
      });
    };

  const client: HttpClient = {
    request(path, request = {}) {
      const attempt = prepare(path, request, {});
      return exchange(attempt, async (response) => response);
    },
    getJson<T, Schema extends z.ZodType | undefined>(path: string, request: JsonRequestOptions<Schema> = {}) {
      const { schema, ...rest } = request;
      const attempt = prepare(path, rest, { accept: 'application/json' });
      return exchange(attempt, readJson<JsonResult<Schema, T>>(attempt, schema));
    },
    postJson<T, Schema extends z.ZodType | undefined>(path: string, body: unknown, request: JsonRequestOptions<Schema> = {}) {
      const { schema, ...rest } = request;
      const attempt = prepare(
        path,
        { method: 'POST', ...rest, body: JSON.stringify(body) },
        { accept: 'application/json', 'content-type': 'application/json' },
      );
      return exchange(attempt, readJson<JsonResult<Schema, T>>(attempt, schema));
    },
    withDefaults(more) {
      return buildClient(options, budget, transport, {
        baseUrl: more.baseUrl ?? defaults.baseUrl,
        headers: { ...lowerCaseKeys(defaults.headers), ...lowerCaseKeys(more.headers ?? {}) },
      });
    },
  };
  return client;
}

function resolveUrl(baseUrl: string | undefined, path: string, query: HttpRequestOptions['query']): string {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
  if (!absolute && baseUrl === undefined) throw new TypeError(`"${path}" is not an absolute URL and the client has no baseUrl`);
  const url = new URL(absolute || baseUrl === undefined ? path : `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.append(key, String(value));
  }
  return url.toString();
}

/** URLs in errors and logs keep origin and path only: query strings often carry keys. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}

function anySignal(signals: AbortSignal[]): AbortSignal | undefined {
  if (signals.length <= 1) return signals[0];
  return AbortSignal.any(signals);
}

function throwIfAborted(signals: AbortSignal[]): void {
  for (const signal of signals) signal.throwIfAborted();
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!signal) {
      setTimeout(resolve, ms);
      return;
    }
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

import type { ConnectorContext, EmitResult } from '../context';
import type { ConnectorHttpPolicy } from '../define-connector';
import type { EgressPolicy, EgressResolver } from '../egress';
import { createHttpClient, type FetchLike, type HttpClient } from '../http-client';
import { parseIngestBatch, type CustomerRecord, type IngestBatch, type InteractionRecord } from '../ingest-batch';
import type { ValidationIssue } from '../issue-path';
import type { JsonObject } from '../json';
import { createFakeClock, type FakeClock } from './fake-clock';
import { createRecordingLogger, type RecordingLogger } from './recording-logger';

/**
 * Options of {@link createTestContext}.
 *
 * @example
 * ```ts
 * const options: TestContextOptions<AcmeConfig, AcmeState> = {
 *   config: { apiKey: 'test-key', subdomain: 'demo' },
 *   state: { cursor: 'page-2' },
 *   now: '2024-05-01T00:00:00Z',
 *   egress: { allowedHosts: ['127.0.0.1'] }, // the fake Acme API listens on loopback
 * };
 * ```
 */
export interface TestContextOptions<Config, State extends object> {
  /** The connection config, as `ctx.config` (already parsed: defaults applied). */
  config: Config;
  /** The saved cursor state; `undefined` for a first run. Frozen deeply before the connector sees it. */
  state?: State;
  /** Start of the fake clock. @defaultValue `DEFAULT_FAKE_NOW` */
  now?: Date | string | number;
  /** Replaces the network behind `ctx.http` (a fake API in the test's process); `egress` does not apply to it. @defaultValue none: the network, under `egress` */
  fetch?: FetchLike;
  /**
   * Hosts `ctx.http` may reach, under the same guard as in production: loopback, private
   * and metadata addresses are refused unless listed. In the harness public addresses
   * are refused too unless `allowPublic: true`, so a test never calls the internet by
   * accident. A fake API on loopback needs `{ allowedHosts: ['127.0.0.1'] }` (or
   * `['127.0.0.1:<port>']` to open only its port). @defaultValue nothing reachable
   */
  egress?: EgressPolicy;
  /** Resolves host names for the egress guard, so a test can point a name at an address without DNS. @defaultValue the system resolver */
  resolve?: EgressResolver;
  /** The definition's `http` policy, applied to `ctx.http` as the host would. */
  http?: ConnectorHttpPolicy;
  /** Replaces `ctx.http` entirely. */
  httpClient?: HttpClient;
  /**
   * The connection's default phone country (ISO 3166-1 alpha-2), as the host reads
   * national numbers for a connection with `defaultCountry` (or an instance with
   * `RAPPORT_DEFAULT_PHONE_COUNTRY`). Without it, `emit` refuses a phone number
   * that is not international, as the host does. @defaultValue none
   */
  defaultCountry?: string;
}

/**
 * A {@link ConnectorContext} for tests: emits are recorded and judged like the host
 * judges them (row by row, with the host's own identifier checks, duplicates by
 * `externalId`), the clock is fake, the logger
 * records, and the run can be aborted.
 *
 * @example
 * ```ts
 * const ctx = createTestContext({ config });
 * const result = await acme.sync!(ctx, ctx.state);
 * expect(ctx.emittedInteractions().map((interaction) => interaction.externalId)).toEqual(['t1', 't2']);
 * expect(ctx.logger.at('error')).toEqual([]);
 * ```
 */
export interface TestContext<Config, State extends object = JsonObject> extends ConnectorContext<Config, State> {
  /** Every batch passed to `emit`, as passed. */
  readonly emitted: readonly IngestBatch[];
  /** Rows `emit` refused, with their paths in the batch (`interactions[3].occurredAt`). */
  readonly rejections: readonly ValidationIssue[];
  /** The fake clock behind `now()`, the HTTP budget and retry waits. */
  readonly clock: FakeClock;
  /** The recording logger. */
  readonly logger: RecordingLogger;
  /** Every interaction from every emitted batch, in order. */
  emittedInteractions(): InteractionRecord[];
  /** Every customer from every emitted batch, in order. */
  emittedCustomers(): CustomerRecord[];
  /** Aborts `signal`, as the host does on cancel or time limit. */
  abort(reason?: unknown): void;
}

/**
 * Creates a {@link TestContext}.
 *
 * @example
 * ```ts
 * const ctx = createTestContext({ config: { apiKey: 'k', baseUrl: server.url }, now: '2024-05-01T00:00:00Z', egress: { allowedHosts: ['127.0.0.1'] } });
 * const { nextState } = await acme.sync!(ctx, ctx.state);
 * ctx.clock.advance(60_000);
 * expect(ctx.emitted).toHaveLength(1);
 * ```
 */
export function createTestContext<Config, State extends object = JsonObject>(options: TestContextOptions<Config, State>): TestContext<Config, State> {
  const clock = createFakeClock(options.now);
  const logger = createRecordingLogger();
  const controller = new AbortController();
  const emitted: IngestBatch[] = [];
  const rejections: ValidationIssue[] = [];
  const seenExternalIds = new Set<string>();
  const state = options.state === undefined ? undefined : deepFreeze(structuredClone(options.state));

  const http =
    options.httpClient ??
    createHttpClient({
      ...options.http,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      egress: { allowPublic: false, ...options.egress },
      ...(options.resolve ? { resolve: options.resolve } : {}),
      now: clock.nowMs,
      sleep: clock.sleep,
      signal: controller.signal,
      logger,
    });

  const emit = async (batch: IngestBatch): Promise<EmitResult> => {
    controller.signal.throwIfAborted();
    emitted.push(batch);
    const result = parseIngestBatch(batch, { defaultCountry: options.defaultCountry });
    const errors = result.ok ? [] : result.errors;
    rejections.push(...errors);
    const rejectedRows = new Set(
      errors.filter((error) => typeof error.segments[1] === 'number').map((error) => `${String(error.segments[0])}[${String(error.segments[1])}]`),
    );
    let accepted = 0;
    let duplicates = 0;
    (batch.customers ?? []).forEach((_, index) => {
      if (!rejectedRows.has(`customers[${index}]`)) accepted++;
    });
    (batch.interactions ?? []).forEach((interaction, index) => {
      if (rejectedRows.has(`interactions[${index}]`)) return;
      if (seenExternalIds.has(interaction.externalId)) duplicates++;
      else {
        seenExternalIds.add(interaction.externalId);
        accepted++;
      }
    });
    return { accepted, duplicates, rejected: rejectedRows.size, errors };
  };

  return {
    config: options.config,
    logger,
    http,
    state,
    emit,
    signal: controller.signal,
    now: () => clock.now(),
    emitted,
    rejections,
    clock,
    emittedInteractions: () => emitted.flatMap((batch) => batch.interactions ?? []),
    emittedCustomers: () => emitted.flatMap((batch) => batch.customers ?? []),
    abort: (reason?: unknown) => controller.abort(reason),
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * A `fetch` that reaches loopback hosts only, by the URL's host name (it neither
 * resolves nor pins addresses: use `egress` for that). Pass it as `fetch` to keep a test
 * off the network without the egress guard.
 *
 * @example
 * ```ts
 * const http = createHttpClient({ fetch: loopbackOnlyFetch });
 * await http.getJson(`http://127.0.0.1:${port}/tickets`);
 * ```
 */
export const loopbackOnlyFetch: FetchLike = async (url, init) => {
  const { hostname } = new URL(url);
  if (!LOOPBACK_HOSTS.has(hostname) && !hostname.endsWith('.localhost')) {
    throw new TypeError(`The connector test harness only reaches loopback hosts; ${hostname} was requested. Pass \`fetch\` to fake the remote API.`);
  }
  return fetch(url, init);
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

import { parseConnectorConfig, type ConfigOf, type ConnectorConfigSchema } from '../config';
import type { WebhookRequest } from '../context';
import { CONNECTOR_API_VERSION, sourceKeyOf, validateConnectorDefinition, type ConnectorDefinition } from '../define-connector';
import { CONNECTOR_ERROR_CODES, isConnectorError } from '../errors';
import type { EgressPolicy } from '../egress';
import type { FetchLike } from '../http-client';
import { parseIngestBatch, type CustomerRecord, type IngestBatch, type InteractionRecord } from '../ingest-batch';
import { isJsonValue } from '../json';
import { describeConfig, secretKeys, type ConfigFieldDescription } from '../secret';
import { DEFAULT_FAKE_NOW } from './fake-clock';
import { createTestContext } from './test-context';
import { tamperWebhookRequest } from './webhook-request';

/**
 * A value, or a function that produces it when the test runs: use the function form for
 * anything that exists only after `beforeAll` (a local server's URL, a freshly signed request).
 *
 * @example
 * ```ts
 * const config: Lazy<unknown> = () => ({ apiKey: 'k', baseUrl: server.url });
 * ```
 */
export type Lazy<T> = T | (() => T | Promise<T>);

/**
 * An invalid config and, optionally, the field it must be rejected for.
 *
 * @example
 * ```ts
 * const invalid: InvalidConfigCase = { config: { apiKey: '' }, field: 'apiKey' };
 * ```
 */
export interface InvalidConfigCase {
  /** The raw config. */
  config: unknown;
  /** A field the rejection must name (dotted path). When absent, any named field will do. */
  field?: string;
}

/**
 * A webhook delivery the connector must accept and parse.
 *
 * @example
 * ```ts
 * const sample: WebhookSample = {
 *   name: 'ticket created',
 *   request: () => createWebhookRequest({ body: ticketCreated, sign: { secret: 'whsec_test' } }),
 *   expectedInteractions: [{ type: 'ticket_opened', externalId: 'ticket_1042' }],
 * };
 * ```
 */
export interface WebhookSample {
  /** Shown in test names. @defaultValue `#<index>` */
  name?: string;
  /** The request, correctly signed. */
  request: Lazy<WebhookRequest>;
  /** Raw config to verify and parse with. @defaultValue the first of `validConfigs` */
  config?: Lazy<unknown>;
  /** How many interactions `parse` must return, or what they must match (`toMatchObject`, in order). */
  expectedInteractions?: number | ReadonlyArray<Partial<Record<keyof InteractionRecord, unknown>>>;
  /** How many customers `parse` must return, or what they must match. */
  expectedCustomers?: number | ReadonlyArray<Partial<Record<keyof CustomerRecord, unknown>>>;
}

/**
 * A request the connector's `verify` must reject.
 *
 * @example
 * ```ts
 * const rejection: WebhookRejection = { name: 'wrong write key', request: createWebhookRequest({ body: { writeKey: 'nope', events: [] } }) };
 * ```
 */
export interface WebhookRejection {
  /** Shown in test names. */
  name: string;
  /** The request. */
  request: Lazy<WebhookRequest>;
  /** Raw config. @defaultValue the first of `validConfigs` */
  config?: Lazy<unknown>;
}

/**
 * How to run a pull connector in the conformance suite: against a local server (the
 * config points at it) or an injected `fetch`.
 *
 * @example
 * ```ts
 * const scenario: SyncScenario = {
 *   config: () => ({ apiKey: 'test', baseUrl: api.url }),
 *   expectedExternalIds: ['ticket_1', 'ticket_2', 'ticket_3'],
 * };
 * ```
 */
export interface SyncScenario<State extends object = object> {
  /** Raw config. @defaultValue the first of `validConfigs` */
  config?: Lazy<unknown>;
  /** The state of the first run. @defaultValue `undefined` */
  initialState?: State;
  /** `fetch` for `ctx.http`, in place of the network. @defaultValue the suite's `fetch`, else the network under the suite's `egress` */
  fetch?: FetchLike;
  /** Cap on runs while `hasMore` is true. @defaultValue 20 */
  maxRuns?: number;
  /** Simulated time between one run and the next. @defaultValue 60_000 */
  clockAdvanceMs?: number;
  /** Every externalId the full sequence of runs must emit, in any order. */
  expectedExternalIds?: readonly string[];
}

/**
 * How to run the connector's `check` in the conformance suite.
 *
 * @example
 * ```ts
 * const check: CheckScenario = { config: () => ({ apiKey: 'test', baseUrl: api.url }), rejectedConfig: () => ({ apiKey: 'revoked', baseUrl: api.url }) };
 * ```
 */
export interface CheckScenario {
  /** Raw config that must pass. @defaultValue the first of `validConfigs` */
  config?: Lazy<unknown>;
  /** Raw config whose credentials the remote side refuses: `check` must throw `AuthenticationError` or `ConfigError`. */
  rejectedConfig?: Lazy<unknown>;
  /** `fetch` for `ctx.http`, in place of the network. @defaultValue the suite's `fetch`, else the network under the suite's `egress` */
  fetch?: FetchLike;
}

/**
 * Options of {@link runConformanceSuite}.
 *
 * @example
 * ```ts
 * const options: ConformanceSuiteOptions = {
 *   validConfigs: [{ apiKey: 'k', subdomain: 'demo', signingSecret: 's' }],
 *   invalidConfigs: [{ config: { subdomain: 'demo' }, field: 'apiKey' }],
 *   webhookSamples: [{ request: () => signedTicketCreated(), expectedInteractions: 1 }],
 * };
 * ```
 */
export interface ConformanceSuiteOptions<State extends object = object> {
  /** Raw configs the schema must accept. At least one. */
  validConfigs: readonly unknown[];
  /** Raw configs the schema must reject, each naming a field. At least one. */
  invalidConfigs: readonly InvalidConfigCase[];
  /** The exact secret fields expected (dotted paths). Credential-like names must be secret in any case. */
  secretFields?: readonly string[];
  /** Field names that look like credentials but are not (`tokenTtlSeconds`). */
  notSecretFields?: readonly string[];
  /** Required when the connector has a webhook. */
  webhookSamples?: readonly WebhookSample[];
  /** More requests `verify` must reject. */
  webhookRejections?: readonly WebhookRejection[];
  /**
   * Whether `verify` authenticates the body, so a sample with one character changed must
   * be rejected. Set `false` only for connectors that authenticate otherwise (a public
   * write key) and then list `webhookRejections`. @defaultValue true
   */
  verifiesBody?: boolean;
  /** Required when the connector has `sync`. */
  syncScenario?: SyncScenario<State>;
  /** How to run `check`, when the connector has one. */
  check?: CheckScenario;
  /** Default `fetch` for `check` and `sync`, in place of the network. @defaultValue none: the network, under `egress` */
  fetch?: FetchLike;
  /**
   * Hosts `check` and `sync` may reach over the network, as {@link createTestContext}'s
   * `egress`: nothing unless listed. A local fake API needs its address:
   * `{ allowedHosts: ['127.0.0.1'] }`. @defaultValue nothing reachable
   */
  egress?: EgressPolicy;
  /** Start of the fake clock. @defaultValue `DEFAULT_FAKE_NOW` */
  now?: Date;
}

const CREDENTIAL_NAME = /secret|token|password|passwd|passphrase|api[-_]?key|private[-_]?key|credential/i;

interface SyncRun {
  inputState: object | undefined;
  nextState: object;
  hasMore: boolean;
  batches: IngestBatch[];
  externalIds: string[];
}

/**
 * Registers the connector conformance tests (Jest `describe`/`test`; any runner with the
 * same globals works) for one definition: it loads, its configs validate and reject
 * naming a field, credentials are secret, `check` runs, webhooks verify signed requests,
 * reject tampered ones and parse into valid batches with stable externalIds whatever the
 * delivery order or count, and `sync` resumes from its saved state without re-emitting.
 * Every plugin in `plugins/` runs it in its own test file.
 *
 * @example
 * ```ts
 * // plugins/acme-helpdesk/acme-helpdesk.test.ts
 * import { createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
 * import acme from './index';
 *
 * const api = startFakeAcmeApi(); // a node:http server on 127.0.0.1, port 0
 * afterAll(() => api.close());
 *
 * runConformanceSuite(acme, {
 *   validConfigs: [{ apiKey: 'test-key', baseUrl: 'http://127.0.0.1:1', signingSecret: 'whsec_test' }],
 *   invalidConfigs: [{ config: { baseUrl: 'not a url' }, field: 'baseUrl' }],
 *   secretFields: ['apiKey', 'signingSecret'],
 *   webhookSamples: [{
 *     name: 'ticket created',
 *     request: () => createWebhookRequest({ body: ticketCreated, sign: { secret: 'whsec_test' } }),
 *     config: { apiKey: 'test-key', baseUrl: 'http://127.0.0.1:1', signingSecret: 'whsec_test' },
 *     expectedInteractions: [{ type: 'ticket_opened', externalId: 'ticket_1042' }],
 *   }],
 *   syncScenario: { config: () => ({ apiKey: 'test-key', baseUrl: api.url, signingSecret: 'whsec_test' }) },
 * });
 * ```
 */
export function runConformanceSuite<Schema extends ConnectorConfigSchema, State extends object>(
  definition: ConnectorDefinition<Schema, State>,
  options: ConformanceSuiteOptions<State>,
): void {
  if (typeof describe !== 'function' || typeof test !== 'function' || typeof expect !== 'function') {
    throw new Error('runConformanceSuite registers tests: call it at the top level of a Jest test file');
  }
  if (options.validConfigs.length === 0) throw new Error('runConformanceSuite needs at least one entry in validConfigs');
  if (options.invalidConfigs.length === 0) throw new Error('runConformanceSuite needs at least one entry in invalidConfigs');
  const samples = options.webhookSamples ?? [];
  if (definition.webhook && samples.length === 0) {
    throw new Error(`Connector "${definition.id}" has a webhook: pass webhookSamples (correctly signed requests) to runConformanceSuite`);
  }
  if (definition.webhook && options.verifiesBody === false && (options.webhookRejections ?? []).length === 0) {
    throw new Error('verifiesBody: false needs webhookRejections: requests that verify must reject');
  }
  if (definition.sync && !options.syncScenario) {
    throw new Error(`Connector "${definition.id}" has sync: pass syncScenario to runConformanceSuite`);
  }

  type Config = ConfigOf<Schema>;
  const schema = definition.config;
  const startTime = options.now ?? DEFAULT_FAKE_NOW;

  const configFrom = async (raw: Lazy<unknown> | undefined): Promise<Config> => {
    const value = await resolve(raw ?? options.validConfigs[0]);
    const result = parseConnectorConfig(schema, value);
    if (!result.ok) {
      throw new Error(`The conformance config is invalid: ${result.issues.map((issue) => `${issue.field || '(config)'}: ${issue.message}`).join('; ')}`);
    }
    return result.config;
  };

  describe(`connector "${definition.id}" conformance`, () => {
    describe('definition', () => {
      test('loads through validateConnectorDefinition with the current API version', () => {
        expect(() => validateConnectorDefinition(definition)).not.toThrow();
        expect(definition.apiVersion).toBe(CONNECTOR_API_VERSION);
      });

      test('describes its config as JSON', () => {
        const described = describeConfig(schema);
        expect(JSON.parse(JSON.stringify(described))).toEqual(described);
      });

      test('declares credential fields as secret', () => {
        const declared = secretKeys(schema);
        if (options.secretFields) expect([...declared].sort()).toEqual([...options.secretFields].sort());
        const exempt = new Set(options.notSecretFields ?? []);
        const credentialLike = fieldPaths(describeConfig(schema)).filter(
          (path) => CREDENTIAL_NAME.test(path.slice(path.lastIndexOf('.') + 1)) && !exempt.has(path),
        );
        const undeclared = credentialLike.filter((path) => !declared.includes(path));
        expect(undeclared).toEqual([]);
      });
    });

    describe('config', () => {
      options.validConfigs.forEach((config, index) => {
        test(`accepts valid config #${index}`, () => {
          const result = parseConnectorConfig(schema, config);
          expect(result.ok ? [] : result.issues).toEqual([]);
        });
        if (definition.sourceKey) {
          test(`sourceKey of valid config #${index} is valid and the same every time`, () => {
            const result = parseConnectorConfig(schema, config);
            if (!result.ok) throw new Error('the config is invalid');
            const first = sourceKeyOf(definition, result.config as Record<string, unknown>);
            expect(first).toEqual({ ok: true, key: first.ok ? first.key : undefined });
            expect(sourceKeyOf(definition, result.config as Record<string, unknown>)).toEqual(first);
          });
        }
      });

      options.invalidConfigs.forEach((invalid, index) => {
        test(`rejects invalid config #${index} naming ${invalid.field === undefined ? 'a field' : `"${invalid.field}"`}`, () => {
          const result = parseConnectorConfig(schema, invalid.config);
          expect(result.ok).toBe(false);
          const fields = result.ok ? [] : result.issues.map((issue) => issue.field);
          expect(fields.filter((field) => field !== '')).not.toEqual([]);
          if (invalid.field !== undefined) expect(fields).toContain(invalid.field);
        });
      });
    });

    const check = definition.check?.bind(definition);
    if (check) {
      describe('check', () => {
        test('passes with a valid config against the harness', async () => {
          const ctx = createTestContext<Config, State>({
            config: await configFrom(options.check?.config),
            now: startTime,
            http: definition.http,
            ...networkOptions(options.check?.fetch ?? options.fetch, options.egress),
          });
          await expect(check(ctx)).resolves.toBeUndefined();
        });

        const rejectedConfig = options.check?.rejectedConfig;
        if (rejectedConfig !== undefined) {
          test('rejects refused credentials with AuthenticationError or ConfigError', async () => {
            const ctx = createTestContext<Config, State>({
              config: await configFrom(rejectedConfig),
              now: startTime,
              http: definition.http,
              ...networkOptions(options.check?.fetch ?? options.fetch, options.egress),
            });
            const error = await check(ctx).then(
              () => undefined,
              (thrown: unknown) => thrown,
            );
            expect(isConnectorError(error) ? error.code : describeThrown(error)).toMatch(
              new RegExp(`^(${CONNECTOR_ERROR_CODES.AUTHENTICATION}|${CONNECTOR_ERROR_CODES.CONFIG})$`),
            );
          });
        }
      });
    }

    const webhook = definition.webhook;
    if (webhook) {
      describe('webhook', () => {
        const label = (sample: WebhookSample, index: number) => `"${sample.name ?? `#${index}`}"`;
        // verify and parse get the suite's fake clock, as ctx does: sign samples at `now` (createWebhookRequest's sign.timestamp).
        const context = Object.freeze({ now: () => new Date(startTime) });
        const externalIdsOf = async (sample: WebhookSample): Promise<string[]> => {
          const batch = await webhook.parse(await resolve(sample.request), await configFrom(sample.config), context);
          return (batch.interactions ?? []).map((interaction) => interaction.externalId);
        };

        samples.forEach((sample, index) => {
          test(`verify accepts the correctly signed sample ${label(sample, index)}`, async () => {
            await expect(Promise.resolve(webhook.verify(await resolve(sample.request), await configFrom(sample.config), context))).resolves.toBe(true);
          });

          if (options.verifiesBody !== false) {
            test(`verify rejects sample ${label(sample, index)} with a tampered body`, async () => {
              const tampered = tamperWebhookRequest(await resolve(sample.request));
              const config = await configFrom(sample.config);
              expect(await verdictOf(() => webhook.verify(tampered, config, context))).toBe('rejected');
            });
          }

          test(`parse turns sample ${label(sample, index)} into a valid IngestBatch`, async () => {
            const batch = await webhook.parse(await resolve(sample.request), await configFrom(sample.config), context);
            const parsed = parseIngestBatch(batch);
            expect(parsed.ok ? [] : parsed.errors).toEqual([]);
            const interactions = batch.interactions ?? [];
            const customers = batch.customers ?? [];
            expect(interactions.length + customers.length).toBeGreaterThan(0);
            expectRecords(interactions, sample.expectedInteractions);
            expectRecords(customers, sample.expectedCustomers);
          });

          test(`delivering sample ${label(sample, index)} twice yields the same externalIds`, async () => {
            const first = await externalIdsOf(sample);
            const second = await externalIdsOf(sample);
            expect(second).toEqual(first);
            expect(new Set(first).size).toBe(first.length);
          });
        });

        test('delivering the samples out of order yields the same externalIds for each', async () => {
          const inOrder: string[][] = [];
          for (const sample of samples) inOrder.push(await externalIdsOf(sample));
          const reversed: string[][] = [];
          for (const sample of [...samples].reverse()) reversed.unshift(await externalIdsOf(sample));
          expect(reversed).toEqual(inOrder);
        });

        (options.webhookRejections ?? []).forEach((rejection) => {
          test(`verify rejects "${rejection.name}"`, async () => {
            const request = await resolve(rejection.request);
            const config = await configFrom(rejection.config);
            expect(await verdictOf(() => webhook.verify(request, config, context))).toBe('rejected');
          });
        });
      });
    }

    const sync = definition.sync?.bind(definition);
    const scenario = options.syncScenario;
    if (sync && scenario) {
      describe('sync', () => {
        const advance = scenario.clockAdvanceMs ?? 60_000;
        const maxRuns = scenario.maxRuns ?? 20;

        const runOnce = async (inputState: State | undefined, runIndex: number): Promise<SyncRun> => {
          const ctx = createTestContext<Config, State>({
            config: await configFrom(scenario.config),
            ...(inputState === undefined ? {} : { state: inputState }),
            now: startTime.getTime() + runIndex * advance,
            http: definition.http,
            ...networkOptions(scenario.fetch ?? options.fetch, options.egress),
          });
          const result = await sync(ctx, ctx.state);
          const batches = [...ctx.emitted, ...(result.batch ? [result.batch] : [])];
          for (const [batchIndex, batch] of batches.entries()) {
            const parsed = parseIngestBatch(batch);
            if (!parsed.ok) {
              throw new Error(
                `run ${runIndex}, batch ${batchIndex} is not a valid IngestBatch: ${parsed.errors.map((error) => `${error.path}: ${error.message}`).join('; ')}`,
              );
            }
          }
          if (!isJsonValue(result.nextState) || typeof result.nextState !== 'object' || Array.isArray(result.nextState)) {
            throw new Error(`run ${runIndex} returned a nextState that is not a JSON object: the host stores it in jsonb`);
          }
          return {
            inputState,
            nextState: result.nextState,
            hasMore: result.hasMore === true,
            batches,
            externalIds: batches.flatMap((batch) => (batch.interactions ?? []).map((interaction) => interaction.externalId)),
          };
        };

        // The chain of runs a host would make: follow hasMore, then one more run once caught up.
        let chain: Promise<SyncRun[]> | undefined;
        const runChain = (): Promise<SyncRun[]> =>
          (chain ??= (async () => {
            const runs: SyncRun[] = [];
            let state = scenario.initialState;
            for (;;) {
              const run = await runOnce(state, runs.length);
              runs.push(run);
              state = run.nextState as State;
              if (!run.hasMore) break;
              if (runs.length >= maxRuns)
                throw new Error(`sync still reports hasMore after ${maxRuns} runs; raise syncScenario.maxRuns or check the cursor advances`);
            }
            runs.push(await runOnce(state, runs.length));
            return runs;
          })());

        test('emits valid batches and returns a JSON nextState', async () => {
          const runs = await runChain();
          const emitted = runs.flatMap((run) => run.batches);
          const records = emitted.reduce((count, batch) => count + (batch.interactions?.length ?? 0) + (batch.customers?.length ?? 0), 0);
          expect(records).toBeGreaterThan(0);
          if (scenario.expectedExternalIds) {
            expect([...new Set(runs.flatMap((run) => run.externalIds))].sort()).toEqual([...scenario.expectedExternalIds].sort());
          }
        });

        test('resumes from the saved state without re-emitting committed externalIds', async () => {
          const runs = await runChain();
          const firstSeenIn = new Map<string, number>();
          const repeated: string[] = [];
          runs.forEach((run, index) => {
            for (const id of new Set(run.externalIds)) {
              const earlier = firstSeenIn.get(id);
              if (earlier !== undefined) repeated.push(`${id} (run ${earlier}, again in run ${index})`);
              else firstSeenIn.set(id, index);
            }
          });
          expect(repeated).toEqual([]);
          expect(runs[runs.length - 1].externalIds).toEqual([]);
        });

        test('replaying a run from the same saved state yields the same externalIds', async () => {
          const [first] = await runChain();
          const replay = await runOnce(first.inputState as State | undefined, 0);
          expect([...replay.externalIds].sort()).toEqual([...first.externalIds].sort());
        });

        test('replaying an earlier state after later runs yields the same externalIds', async () => {
          const runs = await runChain();
          const target = runs.length > 2 ? runs[1] : runs[0];
          const targetIndex = runs.indexOf(target);
          const replay = await runOnce(target.inputState as State | undefined, targetIndex);
          expect([...replay.externalIds].sort()).toEqual([...target.externalIds].sort());
        });
      });
    }
  });
}

async function resolve<T>(value: Lazy<T>): Promise<T> {
  return typeof value === 'function' ? await (value as () => T | Promise<T>)() : value;
}

function networkOptions(fetch: FetchLike | undefined, egress: EgressPolicy | undefined): { fetch?: FetchLike; egress?: EgressPolicy } {
  return { ...(fetch === undefined ? {} : { fetch }), ...(egress === undefined ? {} : { egress }) };
}

/** `verify` rejects by returning false or throwing WebhookVerificationError; anything else is a bug in the verifier. */
async function verdictOf(verify: () => boolean | Promise<boolean>): Promise<'accepted' | 'rejected' | string> {
  try {
    const verdict = await verify();
    if (verdict === true) return 'accepted';
    if (verdict === false) return 'rejected';
    return `verify returned ${String(verdict)} instead of a boolean`;
  } catch (error) {
    if (isConnectorError(error) && error.code === CONNECTOR_ERROR_CODES.WEBHOOK_VERIFICATION) return 'rejected';
    return `verify threw ${describeThrown(error)} instead of returning false or throwing WebhookVerificationError`;
  }
}

function expectRecords(records: readonly object[], expected: number | ReadonlyArray<object> | undefined): void {
  if (expected === undefined) return;
  if (typeof expected === 'number') expect(records).toHaveLength(expected);
  else expect(records).toMatchObject([...expected]);
}

function fieldPaths(fields: readonly ConfigFieldDescription[], prefix = ''): string[] {
  return fields.flatMap((field) => [`${prefix}${field.name}`, ...fieldPaths(field.fields ?? [], `${prefix}${field.name}.`)]);
}

function describeThrown(error: unknown): string {
  if (error === undefined) return 'nothing (it resolved)';
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

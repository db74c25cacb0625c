import path from 'node:path';
import { z } from 'zod';
import { isPhoneCountry, parseAllowedHosts } from '@rapport/connector-kit';

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((value) => protocols.some((p) => value.startsWith(p + '://')), {
      message: `must be a URL starting with ${protocols.map((p) => p + '://').join(' or ')}`,
    })
    .optional();

const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

/** The environment Rapport reads, each variable documented in the README. */
export const environmentSchema = z.object({
  /** HTTP port of the gateway. @defaultValue 4000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Interface the gateway binds to. @defaultValue 127.0.0.1 (use 0.0.0.0 in containers) */
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** External Postgres; without it Rapport runs embedded Postgres under RAPPORT_DATA_DIR. */
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  /** Redis for BullMQ; without it the queues use BullMQ's PostgreSQL backend. */
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  /** Where embedded mode keeps Postgres data and generated keys. @defaultValue ./.rapport */
  RAPPORT_DATA_DIR: z.string().trim().min(1).default('./.rapport'),
  /** Fixed port for embedded Postgres. @defaultValue a free port */
  RAPPORT_PG_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Seed the demo data set when the database has no customers (embedded mode). @defaultValue true */
  RAPPORT_DEMO_DATA: booleanFlag.default(true),
  /** Key prefix of the queues on Redis (use a hash tag such as {rapport} on Redis Cluster). @defaultValue rapport */
  RAPPORT_QUEUE_PREFIX: z.string().trim().min(1).max(64).default('rapport'),
  /** A secret that is a valid admin API key (automation, first setup). Embedded mode without it generates a development key. */
  RAPPORT_BOOTSTRAP_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Accept JWT bearer tokens from this issuer (with RAPPORT_JWT_AUDIENCE and a key). */
  RAPPORT_JWT_ISSUER: z.string().trim().min(1).optional(),
  /** Audience JWTs must be issued for. */
  RAPPORT_JWT_AUDIENCE: z.string().trim().min(1).optional(),
  /** HS256 shared secret for JWTs. */
  RAPPORT_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** RS256 public key (PEM) for JWTs. */
  RAPPORT_JWT_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key' }).optional(),
  /** JWT claim holding the scopes (space-separated string or array). @defaultValue scope */
  RAPPORT_JWT_SCOPES_CLAIM: z.string().trim().min(1).default('scope'),
  /** Requests per minute per key (token bucket; on Redis when REDIS_URL is set, else in Postgres). @defaultValue 1200 */
  RAPPORT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  /** Burst size of the rate limit. @defaultValue 200 */
  RAPPORT_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(200),
  /** Serve schema introspection. @defaultValue true */
  RAPPORT_INTROSPECTION: booleanFlag.default(true),
  /** Largest query cost (fields × list sizes). @defaultValue 50000 */
  RAPPORT_MAX_QUERY_COST: z.coerce.number().int().min(10).default(50_000),
  /** Most aliases in one operation. @defaultValue 30 */
  RAPPORT_MAX_ALIASES: z.coerce.number().int().min(1).default(30),
  /** Most tokens in one document. @defaultValue 10000 */
  RAPPORT_MAX_TOKENS: z.coerce.number().int().min(100).default(10_000),
  /**
   * Trait names that hold personal data, comma-separated: masked without
   * pii:read, and filters, orderings and segment rules on them need pii:read.
   * Matched at any depth and case-insensitively, ignoring `_` and `-`.
   */
  RAPPORT_PERSONAL_TRAITS: z.string().default('email,phone,name,firstName,lastName,address,birthDate,dateOfBirth,ssn,taxId,givenName,familyName,nationalId'),
  /** Interaction property names that hold personal data, comma-separated; matched and enforced as RAPPORT_PERSONAL_TRAITS. */
  RAPPORT_PERSONAL_PROPERTIES: z.string().default('email,phone,name,firstName,lastName,address,birthDate,dateOfBirth,ssn,taxId,ip,ipAddress'),
  /** How often the dirty sweep refreshes customers whose refresh job was lost, in ms. @defaultValue 60000 */
  RAPPORT_DIRTY_SWEEP_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** How often a worker registers its job schedulers again (they vanish with a Redis restarted without persistence), in ms. @defaultValue 60000 */
  RAPPORT_SCHEDULE_REASSERT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /**
   * A running job's lock, in ms: a worker that dies with a job is noticed within about 1.5 times this
   * (the stalled check runs every half of it) and the job restarts; a recompute whose heartbeat is older
   * reads STALLED. @defaultValue 20000
   */
  RAPPORT_JOB_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(20_000),
  /** How often segments with moving time windows (and stale ones) are re-evaluated, in ms. @defaultValue 300000 (5 minutes) */
  RAPPORT_SEGMENT_SWEEP_MS: z.coerce.number().int().min(1_000).default(300_000),
  /**
   * Days of score history kept: a full recompute then drops the points that
   * had been superseded that long ago (the value in force at the cutoff
   * stays, so the history still covers the whole period). 0 keeps
   * everything. @defaultValue 0
   */
  RAPPORT_SCORE_HISTORY_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Hours a dispatched domain event stays in the outbox before the sweep deletes it. @defaultValue 168 (7 days) */
  RAPPORT_OUTBOX_RETENTION_HOURS: z.coerce.number().int().min(0).max(87_600).default(168),
  /** How often the worker dispatches domain events from the outbox, in ms. @defaultValue 1000 */
  RAPPORT_OUTBOX_DISPATCH_MS: z.coerce.number().int().min(100).max(3_600_000).default(1_000),
  /** At most one refresh per customer in this time while its changes keep coming (its first change is refreshed after the gathering window), in ms. @defaultValue 1000 */
  RAPPORT_REFRESH_DEBOUNCE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /** Live GraphQL subscriptions one key may hold on one gateway process (SSE and WebSocket together). @defaultValue 50 */
  RAPPORT_REALTIME_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(100_000).default(50),
  /** Events one subscription may receive in one second; past it the subscription ends with SUBSCRIPTION_EVENT_RATE_EXCEEDED. @defaultValue 100 */
  RAPPORT_REALTIME_EVENTS_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Events buffered for a subscriber that reads slowly; past it the oldest are dropped and counted in a lagged event. @defaultValue 256 */
  RAPPORT_REALTIME_BUFFER: z.coerce.number().int().min(1).max(100_000).default(256),
  /** pino level. @defaultValue info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Worker concurrency per queue. @defaultValue 4 */
  RAPPORT_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  /** Maximum request body accepted by the gateway, in bytes. @defaultValue 4 MiB */
  RAPPORT_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** Key that encrypts connector secrets (AES-256-GCM): 32 bytes as base64 or hex. Without it, embedded mode generates one under RAPPORT_DATA_DIR. */
  RAPPORT_SECRET_KEY: z
    .string()
    .trim()
    .refine((value) => secretKeyBytes(value) !== undefined, { message: 'must be 32 bytes, base64 or hex encoded (openssl rand -base64 32)' })
    .optional(),
  /** Connector plugins installed as packages (or absolute paths), comma-separated, loaded besides RAPPORT_PLUGINS_DIR. @defaultValue none */
  RAPPORT_CONNECTOR_PACKAGES: z.string().default(''),
  /** Folder of connector plugins, one sub-folder each. @defaultValue ./plugins */
  RAPPORT_PLUGINS_DIR: z.string().trim().min(1).default('./plugins'),
  /** Time limit of one pull sync run; the plugin's process is killed past it. @defaultValue 900 */
  RAPPORT_SYNC_TIME_LIMIT_SECONDS: z.coerce.number().min(0.1).max(86_400).default(900),
  /**
   * Hosts connectors may reach although they are not public (loopback, private, link-local…),
   * comma-separated: host names (`*.corp.example` for subdomains), host:port, IP addresses,
   * IP:port (`[v6]:port`) or CIDR ranges. A metadata address only by its exact IP. @defaultValue none
   */
  RAPPORT_CONNECTOR_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseAllowedHosts(value.split(','));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /**
   * The country (ISO 3166-1 alpha-2, `GB`) connector phone numbers without a country
   * code are read in, for connections without a `defaultCountry` of their own.
   * @defaultValue none: such numbers are refused
   */
  RAPPORT_DEFAULT_PHONE_COUNTRY: z
    .string()
    .optional()
    .transform((value) => (value?.trim() ? value.trim().toUpperCase() : undefined))
    .refine((value) => value === undefined || isPhoneCountry(value), {
      message: 'must be a two-letter ISO 3166-1 country code such as GB or US',
    }),
  /** Maximum webhook body accepted on /hooks/:connectionId, in bytes. @defaultValue 1 MiB */
  RAPPORT_WEBHOOK_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /**
   * Web origins (`https://app.example.com`) whose pages may call the gateway
   * from a browser, comma-separated and matched exactly. @defaultValue none:
   * no cross-origin access
   */
  RAPPORT_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value, context) => {
      const origins = value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean);
      for (const origin of origins) {
        const problem = originProblem(origin);
        if (problem) context.addIssue({ code: 'custom', message: `"${origin}" ${problem}` });
      }
      return origins;
    }),
  /** Heap limit of each plugin host process (`--max-old-space-size`), in MiB. @defaultValue 256 */
  RAPPORT_PLUGIN_MAX_HEAP_MB: z.coerce.number().int().min(32).max(16_384).default(256),
  /** Deadline of one call to a plugin (webhook verify, parse, check, config validation), in ms; past it the plugin's host is killed. @defaultValue 10000 */
  RAPPORT_PLUGIN_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Deadline of one sync page (the time the plugin has control between two batches), in seconds; past it the run's host is killed. @defaultValue 300 */
  RAPPORT_SYNC_PAGE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(86_400).default(300),
  /**
   * Port of the operators' listener (`/metrics`, `/healthz`, `/readyz`) of this
   * process, gateway or worker, on HOST (0: any free port). @defaultValue none:
   * no metrics are served
   */
  RAPPORT_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Bearer token `/metrics` requires (at least 16 characters). @defaultValue none: the listener's port is the protection */
  RAPPORT_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Hosts outbound webhook endpoints may point at although they are not public (loopback, private,
   * link-local…), in the forms of RAPPORT_CONNECTOR_ALLOWED_HOSTS. A metadata address only by its exact IP. @defaultValue none
   */
  RAPPORT_WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseAllowedHosts(value.split(','));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /** Deadline of one outbound webhook attempt (connect, send, answer), in ms. @defaultValue 10000 */
  RAPPORT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** Delay before the first retry of a failed webhook delivery, in ms; it doubles at each retry (with jitter). @defaultValue 5000 */
  RAPPORT_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(86_400_000).default(5_000),
  /** Longest delay between two attempts of a webhook delivery, in ms. @defaultValue 21600000 (6 hours) */
  RAPPORT_WEBHOOK_RETRY_MAX_DELAY_MS: z.coerce.number().int().min(1).max(604_800_000).default(21_600_000),
  /** How long a webhook delivery is retried from its first attempt before it is DEAD, in seconds. @defaultValue 259200 (3 days) */
  RAPPORT_WEBHOOK_RETRY_FOR_SECONDS: z.coerce.number().min(0).max(31_536_000).default(259_200),
  /** Days of failures in a row (no successful delivery) after which an endpoint is DISABLED. @defaultValue 5 */
  RAPPORT_WEBHOOK_DISABLE_AFTER_DAYS: z.coerce.number().min(0).max(365).default(5),
  /** Hours a rotated-out webhook secret still signs deliveries, beside the new one. @defaultValue 24 */
  RAPPORT_WEBHOOK_SECRET_OVERLAP_HOURS: z.coerce.number().min(0).max(8_760).default(24),
  /** How often a worker re-queues webhook deliveries that are due but have no job (a lost enqueue), in ms. @defaultValue 30000 */
  RAPPORT_WEBHOOK_SWEEP_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
});

/** Why `value` is not an exact web origin (scheme, host, optional port), or undefined when it is one. */
function originProblem(value: string): string | undefined {
  if (value === '*' || value === 'null') return 'is not allowed: list each origin exactly';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an origin such as https://app.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must start with https:// or http://';
  if (url.origin !== value) return `is not an exact origin (scheme, host and port only, no path or trailing slash: ${url.origin})`;
  return undefined;
}

/** Decodes a 32-byte key written as hex or base64; undefined when it is neither. */
export function secretKeyBytes(value: string): Buffer | undefined {
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  return bytes?.length === 32 ? bytes : undefined;
}

/** Typed configuration, parsed once at startup. */
export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  redisUrl?: string;
  dataDir: string;
  embeddedPgPort?: number;
  demoData: boolean;
  segmentSweepMs: number;
  /** Period of the dirty sweep, in ms; see RAPPORT_DIRTY_SWEEP_MS. */
  dirtySweepMs: number;
  /** How often a worker re-asserts its job schedulers, in ms; see RAPPORT_SCHEDULE_REASSERT_MS. */
  scheduleReassertMs: number;
  /** A running job's lock, in ms; see RAPPORT_JOB_LOCK_MS. */
  jobLockMs: number;
  /** Days of score history kept (0: all); see RAPPORT_SCORE_HISTORY_DAYS. */
  scoreHistoryDays: number;
  /** Hours dispatched domain events are kept; see RAPPORT_OUTBOX_RETENTION_HOURS. */
  outboxRetentionHours: number;
  /** Dispatch period of the outbox, in ms; see RAPPORT_OUTBOX_DISPATCH_MS. */
  outboxDispatchMs: number;
  /** Debounce of the customer refresh, in ms; see RAPPORT_REFRESH_DEBOUNCE_MS. */
  refreshDebounceMs: number;
  /** Limits of GraphQL subscriptions (RAPPORT_REALTIME_*). */
  realtime: { maxSubscriptionsPerKey: number; eventsPerSecond: number; bufferSize: number };
  queuePrefix: string;
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  workerConcurrency: number;
  maxBodyBytes: number;
  /** Connector secrets key (32 bytes), when set in the environment. */
  secretKey?: Buffer;
  connectorPackages: string[];
  /** Allowlist of the connectors' egress guard (RAPPORT_CONNECTOR_ALLOWED_HOSTS), normalised. */
  connectorAllowedHosts: string[];
  /** The instance default for connector phone numbers without a country code (RAPPORT_DEFAULT_PHONE_COUNTRY). */
  defaultPhoneCountry?: string;
  auth: {
    bootstrapAdminKey?: string;
    jwt?: { issuer: string; audience: string; secret?: string; publicKey?: string; scopesClaim: string };
    rateLimitPerMinute: number;
    rateLimitBurst: number;
    introspection: boolean;
    maxQueryCost: number;
    maxAliases: number;
    maxTokens: number;
    personalTraits: string[];
    /** Interaction property names holding personal data (RAPPORT_PERSONAL_PROPERTIES). */
    personalProperties: string[];
  };
  pluginsDir: string;
  syncTimeLimitMs: number;
  webhookMaxBodyBytes: number;
  /** Origins allowed to call the gateway from a browser (CORS); empty: none. */
  corsOrigins: string[];
  /** The operators' listener (RAPPORT_METRICS_PORT, RAPPORT_METRICS_TOKEN); undefined port: off. */
  metrics: { port?: number; token?: string };
  /** The sandbox of plugin hosts (see src/modules/connectors/plugin-sandbox.ts). */
  plugins: {
    maxHeapMb: number;
    callTimeoutMs: number;
    syncPageTimeoutMs: number;
  };
  /** Outbound webhooks (RAPPORT_WEBHOOK_*; src/modules/webhooks). */
  webhooks: WebhookSettings;
}

/** Delivery settings of outbound webhooks. */
export interface WebhookSettings {
  /** Egress allowlist of endpoints (RAPPORT_WEBHOOK_ALLOWED_HOSTS), normalised. */
  allowedHosts: string[];
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** From a delivery's first attempt to DEAD. */
  retryForMs: number;
  /** Failing that long in a row disables an endpoint. */
  disableAfterMs: number;
  /** How long a rotated-out secret keeps signing. */
  secretOverlapMs: number;
  sweepMs: number;
}

/** A bad environment: the message names every variable at fault. */
export class ConfigurationError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`Invalid environment: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

/** Parses the environment (`process.env` by default); throws {@link ConfigurationError}. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(environmentSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = environmentSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigurationError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message })));
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dataDir: path.resolve(e.RAPPORT_DATA_DIR),
    embeddedPgPort: e.RAPPORT_PG_PORT,
    demoData: e.RAPPORT_DEMO_DATA,
    segmentSweepMs: e.RAPPORT_SEGMENT_SWEEP_MS,
    dirtySweepMs: e.RAPPORT_DIRTY_SWEEP_MS,
    scheduleReassertMs: e.RAPPORT_SCHEDULE_REASSERT_MS,
    jobLockMs: e.RAPPORT_JOB_LOCK_MS,
    scoreHistoryDays: e.RAPPORT_SCORE_HISTORY_DAYS,
    outboxRetentionHours: e.RAPPORT_OUTBOX_RETENTION_HOURS,
    outboxDispatchMs: e.RAPPORT_OUTBOX_DISPATCH_MS,
    refreshDebounceMs: e.RAPPORT_REFRESH_DEBOUNCE_MS,
    realtime: {
      maxSubscriptionsPerKey: e.RAPPORT_REALTIME_MAX_SUBSCRIPTIONS,
      eventsPerSecond: e.RAPPORT_REALTIME_EVENTS_PER_SECOND,
      bufferSize: e.RAPPORT_REALTIME_BUFFER,
    },
    queuePrefix: e.RAPPORT_QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    workerConcurrency: e.RAPPORT_WORKER_CONCURRENCY,
    maxBodyBytes: e.RAPPORT_MAX_BODY_BYTES,
    secretKey: e.RAPPORT_SECRET_KEY ? secretKeyBytes(e.RAPPORT_SECRET_KEY) : undefined,
    auth: {
      bootstrapAdminKey: e.RAPPORT_BOOTSTRAP_ADMIN_KEY,
      jwt:
        e.RAPPORT_JWT_ISSUER && e.RAPPORT_JWT_AUDIENCE && (e.RAPPORT_JWT_SECRET || e.RAPPORT_JWT_PUBLIC_KEY)
          ? {
              issuer: e.RAPPORT_JWT_ISSUER,
              audience: e.RAPPORT_JWT_AUDIENCE,
              secret: e.RAPPORT_JWT_SECRET,
              publicKey: e.RAPPORT_JWT_PUBLIC_KEY,
              scopesClaim: e.RAPPORT_JWT_SCOPES_CLAIM,
            }
          : undefined,
      rateLimitPerMinute: e.RAPPORT_RATE_LIMIT_PER_MINUTE,
      rateLimitBurst: e.RAPPORT_RATE_LIMIT_BURST,
      introspection: e.RAPPORT_INTROSPECTION,
      maxQueryCost: e.RAPPORT_MAX_QUERY_COST,
      maxAliases: e.RAPPORT_MAX_ALIASES,
      maxTokens: e.RAPPORT_MAX_TOKENS,
      personalTraits: e.RAPPORT_PERSONAL_TRAITS.split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      personalProperties: e.RAPPORT_PERSONAL_PROPERTIES.split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    },
    connectorPackages: e.RAPPORT_CONNECTOR_PACKAGES.split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    connectorAllowedHosts: e.RAPPORT_CONNECTOR_ALLOWED_HOSTS,
    ...(e.RAPPORT_DEFAULT_PHONE_COUNTRY ? { defaultPhoneCountry: e.RAPPORT_DEFAULT_PHONE_COUNTRY } : {}),
    pluginsDir: path.resolve(e.RAPPORT_PLUGINS_DIR),
    syncTimeLimitMs: Math.round(e.RAPPORT_SYNC_TIME_LIMIT_SECONDS * 1000),
    webhookMaxBodyBytes: e.RAPPORT_WEBHOOK_MAX_BODY_BYTES,
    corsOrigins: e.RAPPORT_CORS_ORIGINS,
    metrics: { port: e.RAPPORT_METRICS_PORT, token: e.RAPPORT_METRICS_TOKEN },
    plugins: {
      maxHeapMb: e.RAPPORT_PLUGIN_MAX_HEAP_MB,
      callTimeoutMs: e.RAPPORT_PLUGIN_CALL_TIMEOUT_MS,
      syncPageTimeoutMs: Math.round(e.RAPPORT_SYNC_PAGE_TIMEOUT_SECONDS * 1000),
    },
    webhooks: {
      allowedHosts: e.RAPPORT_WEBHOOK_ALLOWED_HOSTS,
      timeoutMs: e.RAPPORT_WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.RAPPORT_WEBHOOK_RETRY_BASE_MS,
      retryMaxDelayMs: e.RAPPORT_WEBHOOK_RETRY_MAX_DELAY_MS,
      retryForMs: Math.round(e.RAPPORT_WEBHOOK_RETRY_FOR_SECONDS * 1000),
      disableAfterMs: Math.round(e.RAPPORT_WEBHOOK_DISABLE_AFTER_DAYS * 86_400_000),
      secretOverlapMs: Math.round(e.RAPPORT_WEBHOOK_SECRET_OVERLAP_HOURS * 3_600_000),
      sweepMs: e.RAPPORT_WEBHOOK_SWEEP_MS,
    },
  };
}

import IORedis, { type Redis } from 'ioredis';
import type { DataSource } from 'typeorm';

/** Outcome of taking one token. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until a request would be allowed again (when refused). */
  retryAfterSeconds: number;
}

/** Options of a per-key token bucket. */
export interface RateLimitOptions {
  perMinute: number;
  burst: number;
}

export interface RateLimiter {
  take(key: string): Promise<RateDecision>;
  close(): Promise<void>;
}

function decide(tokensAfter: number, perSecond: number): RateDecision {
  if (tokensAfter >= 0) return { allowed: true, retryAfterSeconds: 0 };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(-tokensAfter / perSecond)) };
}

/**
 * Token bucket in Postgres: one upsert per request, atomic under concurrency.
 * The bucket refills at `perMinute / 60` tokens a second up to `burst`; a
 * refused request leaves the bucket at most one token in debt.
 */
export function postgresRateLimiter(dataSource: DataSource, options: RateLimitOptions): RateLimiter {
  const perSecond = options.perMinute / 60;
  return {
    async take(key) {
      const [row] = await dataSource.query(
        `INSERT INTO rate_limit_buckets AS b (key, tokens, updated_at) VALUES ($1, $2::float8 - 1, clock_timestamp())
         ON CONFLICT (key) DO UPDATE SET
           tokens = GREATEST(-1, LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at) * $3::float8) - 1),
           updated_at = clock_timestamp()
         RETURNING tokens`,
        [key, options.burst, perSecond],
      );
      return decide(Number(row.tokens), perSecond);
    },
    async close() {},
  };
}

const REDIS_BUCKET = `
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or t
tokens = math.max(-1, math.min(burst, tokens + (t - ts) * rate) - 1)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(t))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate) * 1000) + 1000)
return tostring(tokens)`;

/** How long a Redis bucket may take before the request is decided by the local bucket instead. */
const REDIS_TAKE_TIMEOUT_MS = 250;

/** What the degraded limiter reports: it logs once when Redis goes away and once when it is back. */
export interface DegradeLog {
  warn(context: Record<string, unknown>, message: string): void;
  info(context: Record<string, unknown>, message: string): void;
}

/**
 * The same bucket in this process's memory: what a gateway falls back on
 * while Redis is away, so an outage of the limiter's store does not refuse
 * every request. Each gateway process then counts on its own (a key spread
 * over N gateways gets up to N times its budget until Redis is back).
 */
export function localRateLimiter(options: RateLimitOptions, now: () => number = () => performance.now()): RateLimiter {
  const perSecond = options.perMinute / 60;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    async take(key) {
      const t = now() / 1000;
      const bucket = buckets.get(key) ?? { tokens: options.burst, at: t };
      bucket.tokens = Math.max(-1, Math.min(options.burst, bucket.tokens + (t - bucket.at) * perSecond) - 1);
      bucket.at = t;
      buckets.set(key, bucket);
      // Full buckets are forgotten: the map holds only keys that spent tokens recently.
      if (buckets.size > 10_000) for (const [k, b] of buckets) if (b.tokens + (t - b.at) * perSecond >= options.burst) buckets.delete(k);
      return decide(bucket.tokens, perSecond);
    },
    async close() {},
  };
}

/**
 * The same bucket on Redis (a Lua script, atomic), for deployments with
 * REDIS_URL. While Redis is away (not connected, or slower than
 * REDIS_TAKE_TIMEOUT_MS) requests are decided by a local in-process bucket;
 * the switch is logged once per outage, and so is the return.
 */
export function redisRateLimiter(url: string, prefix: string, options: RateLimitOptions, log?: DegradeLog): RateLimiter {
  const perSecond = options.perMinute / 60;
  // No offline queue: while disconnected a command fails at once and the local bucket decides.
  const redis: Redis = new IORedis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: false, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  const local = localRateLimiter(options);
  let degraded = false;
  // Until Redis has answered once (a gateway starting up), a request waits for it as long as for an
  // answer, so the first requests count in the shared bucket rather than in this process's.
  let connected: Promise<boolean> | undefined = new Promise((resolve) => {
    redis.once('ready', () => resolve(true));
    redis.once('end', () => resolve(false));
  });
  void connected.then(() => (connected = undefined));
  const firstConnection = async (): Promise<boolean> => {
    if (!connected) return redis.status === 'ready';
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), REDIS_TAKE_TIMEOUT_MS)));
    try {
      return await Promise.race([connected, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const takeRemote = async (key: string): Promise<RateDecision> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const tokens = await Promise.race([
        redis.eval(REDIS_BUCKET, 1, `${prefix}:ratelimit:${key}`, options.burst, perSecond),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the rate limit store did not answer in time')), REDIS_TAKE_TIMEOUT_MS))),
      ]);
      return decide(Number(tokens), perSecond);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async take(key) {
      if (redis.status !== 'ready' && !(await firstConnection())) return degrade(new Error(`redis is ${redis.status}`), key);
      try {
        const decision = await takeRemote(key);
        if (degraded) {
          degraded = false;
          log?.info({}, 'rate limiter: Redis is back; buckets are shared again');
        }
        return decision;
      } catch (error) {
        return degrade(error, key);
      }
    },
    async close() {
      await redis.quit().catch(() => undefined);
    },
  };

  function degrade(error: unknown, key: string): Promise<RateDecision> {
    if (!degraded) {
      degraded = true;
      log?.warn(
        { err: error },
        'rate limiter: Redis is unavailable; limiting with a local bucket in this process until it is back (each gateway process counts on its own)',
      );
    }
    return local.take(key);
  }
}

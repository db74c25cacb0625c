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

/** The same bucket on Redis (a Lua script, atomic), for deployments with REDIS_URL. */
export function redisRateLimiter(url: string, prefix: string, options: RateLimitOptions): RateLimiter {
  const perSecond = options.perMinute / 60;
  const redis: Redis = new IORedis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: false });
  redis.on('error', () => undefined);
  return {
    async take(key) {
      const tokens = await redis.eval(REDIS_BUCKET, 1, `${prefix}:ratelimit:${key}`, options.burst, perSecond);
      return decide(Number(tokens), perSecond);
    },
    async close() {
      await redis.quit().catch(() => undefined);
    },
  };
}

/**
 * A clock that only moves when told to. The test context's `now()`, its HTTP client's
 * budget and its retry waits all read this clock, so a test that exercises backoff or
 * a rate limit finishes at once and asserts on simulated time, never on wall time.
 *
 * @example
 * ```ts
 * const clock = createFakeClock(new Date('2024-05-01T00:00:00Z'));
 * clock.advance(90_000);
 * clock.now().toISOString(); // '2024-05-01T00:01:30.000Z'
 * ```
 */
export interface FakeClock {
  /** The current simulated time. */
  now(): Date;
  /** The current simulated time in epoch milliseconds. */
  nowMs(): number;
  /** Moves the clock forward. */
  advance(ms: number): void;
  /** Moves the clock to a given time (forward or back). */
  set(time: Date | string | number): void;
  /** A `sleep` for the HTTP client: advances the clock by `ms` and resolves on the next microtask. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Every wait passed to `sleep`, in order: assert on these instead of elapsed time. */
  readonly sleeps: readonly number[];
}

/**
 * Default start of a fake clock: a fixed instant, so runs are reproducible.
 *
 * @example
 * ```ts
 * createFakeClock().now().getTime() === DEFAULT_FAKE_NOW.getTime(); // true
 * ```
 */
export const DEFAULT_FAKE_NOW = new Date('2024-05-01T12:00:00.000Z');

/**
 * Creates a {@link FakeClock}.
 *
 * @param start - the initial time. @defaultValue {@link DEFAULT_FAKE_NOW}
 * @example
 * ```ts
 * const clock = createFakeClock('2024-05-01T00:00:00Z');
 * const http = createHttpClient({ now: clock.nowMs, sleep: clock.sleep, rateLimit: { requests: 1, intervalMs: 1_000 } });
 * ```
 */
export function createFakeClock(start: Date | string | number = DEFAULT_FAKE_NOW): FakeClock {
  let current = toMs(start);
  const sleeps: number[] = [];
  return {
    now: () => new Date(current),
    nowMs: () => current,
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance() takes a non-negative duration; got ${ms}`);
      current += ms;
    },
    set(time) {
      current = toMs(time);
    },
    async sleep(ms, signal) {
      signal?.throwIfAborted();
      sleeps.push(ms);
      current += Math.max(0, ms);
    },
    sleeps,
  };
}

function toMs(time: Date | string | number): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (Number.isNaN(ms)) throw new RangeError(`Not a valid time: ${String(time)}`);
  return ms;
}

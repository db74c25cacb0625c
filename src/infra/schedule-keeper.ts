import { withTimeout } from './jobs';
import type { Logger } from './logger';
import type { ScheduleDeclaration } from './module';

/**
 * Keeps the modules' job schedulers registered. They live in the queue's
 * store: a Redis that restarts without persistence comes back without them,
 * and nothing would run the dirty sweep, the segment sweep or the nightly
 * scores again until a worker restarted. So a worker asserts them again
 * whenever its queue connection comes back and every `everyMs` (upserts are
 * idempotent: an existing scheduler keeps its next run). A failed round is
 * logged once until a round succeeds again.
 */
export class ScheduleKeeper {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly schedules: readonly ScheduleDeclaration[],
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  /** Registers every schedule now (failures throw: a worker that cannot schedule does not start), then keeps them. */
  async start(): Promise<void> {
    for (const schedule of this.schedules) await schedule.start();
    this.timer = setInterval(() => this.reassert('periodic'), this.everyMs);
    this.timer.unref();
  }

  /** Registers every schedule again; a call during a round runs one more round after it. */
  reassert(reason: 'periodic' | 'reconnect'): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = this.run(reason).finally(() => {
      this.round = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.reassert(reason);
      }
    });
    return this.round;
  }

  /** Stops re-asserting and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
  }

  private async run(reason: string): Promise<void> {
    try {
      // Bounded: a queue that hangs must not hold every later round.
      for (const schedule of this.schedules) await withTimeout(schedule.start(), 10_000, `assert schedule ${schedule.name}`);
      if (this.failing || reason === 'reconnect') this.logger.info({ reason, schedules: this.schedules.map((s) => s.name) }, 'job schedulers asserted');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: error, reason }, 'could not assert the job schedulers; retrying');
      this.failing = true;
    }
  }
}

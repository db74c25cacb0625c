import { fail, type RapportError } from '../../errors/catalog';

/** What a subscriber reads: an event, the count of events dropped because it read too slowly, or the error that ends it. */
export type QueueItem<T> = { kind: 'event'; value: T } | { kind: 'lagged'; dropped: number; at: Date } | { kind: 'error'; error: RapportError };

export interface SubscriberQueueOptions {
  /** Events held while the subscriber is not reading; past it the oldest are dropped and counted. */
  capacity: number;
  /** Events accepted per one-second window; one more ends the subscription with SUBSCRIPTION_EVENT_RATE_EXCEEDED. */
  perSecond: number;
  /** Called once when the subscription ends, however it ends (to unregister it and release its slot). */
  onClose: () => void;
  now?: () => number;
}

/**
 * The events of one subscription between the fan-out, which pushes them as
 * they arrive, and the transport, which reads them as fast as its client
 * takes them. Memory is bounded: a subscriber that reads slowly loses the
 * oldest events beyond `capacity` and then reads one `lagged` item counting
 * them. `return()` ends it at once, even while a read is waiting.
 */
export class SubscriberQueue<T> implements AsyncIterableIterator<QueueItem<T>> {
  private items: T[] = [];
  private dropped = 0;
  private failure?: RapportError;
  private closed = false;
  private waiter?: (result: IteratorResult<QueueItem<T>>) => void;
  private windowStart = 0;
  private windowCount = 0;
  private readonly now: () => number;

  constructor(private readonly options: SubscriberQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Events waiting to be read (for tests and diagnostics). */
  get size(): number {
    return this.items.length;
  }

  /** Whether the subscription has ended. */
  get ended(): boolean {
    return this.closed;
  }

  push(value: T): void {
    if (this.closed || this.failure) return;
    const now = this.now();
    if (now - this.windowStart >= 1_000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (++this.windowCount > this.options.perSecond) {
      this.fail(fail('SUBSCRIPTION_EVENT_RATE_EXCEEDED', { limit: this.options.perSecond }));
      return;
    }
    if (this.waiter) {
      this.deliver({ kind: 'event', value });
      return;
    }
    if (this.items.length >= this.options.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(value);
  }

  /** Ends the subscription with `error`: the subscriber reads the events already accepted, then the error, then the end. */
  fail(error: RapportError): void {
    if (this.closed || this.failure) return;
    this.failure = error;
    this.release();
    if (this.waiter) {
      this.failure = undefined;
      this.closed = true;
      this.deliver({ kind: 'error', error });
    }
  }

  /** Ends the subscription normally (the server shuts down, a watched job finished). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.items = [];
    this.release();
    this.waiter?.({ value: undefined, done: true });
    this.waiter = undefined;
  }

  next(): Promise<IteratorResult<QueueItem<T>>> {
    if (this.dropped > 0) {
      const dropped = this.dropped;
      this.dropped = 0;
      return Promise.resolve({ value: { kind: 'lagged', dropped, at: new Date(this.now()) }, done: false });
    }
    const value = this.items.shift();
    if (value !== undefined) return Promise.resolve({ value: { kind: 'event', value }, done: false });
    if (this.failure) {
      const error = this.failure;
      this.failure = undefined;
      this.closed = true;
      return Promise.resolve({ value: { kind: 'error', error }, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<QueueItem<T>>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private deliver(item: QueueItem<T>): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: item, done: false });
  }

  private released = false;
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.options.onClose();
  }
}

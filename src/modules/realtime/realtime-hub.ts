import { fail } from '../../errors/catalog';
import type { Logger } from '../../infra/logger';
import { NO_CUSTOMER, type DomainEvent, type OutboxWriter } from '../events';
import type { FanOut, RealtimeMessage } from './fan-out';
import { SubscriberQueue } from './subscriber-queue';

export interface RealtimeLimits {
  /** Live subscriptions per key on this process. */
  maxSubscriptionsPerKey: number;
  /** Events per second per subscription. */
  eventsPerSecond: number;
  /** Events buffered per subscriber. */
  bufferSize: number;
}

/** How often a watched job's state is read while someone subscribes to it. */
const JOB_POLL_MS = 500;

/** The topics a message is routed by: its customer, its segment, its score kind, alerts. */
export function topicsOf(message: RealtimeMessage): string[] {
  const topics: string[] = [];
  if (message.customerId !== NO_CUSTOMER) topics.push(`customer:${message.customerId}`);
  const { segmentId, kind } = message.payload as { segmentId?: unknown; kind?: unknown };
  if ((message.type === 'segment.entered' || message.type === 'segment.exited') && typeof segmentId === 'string') topics.push(`segment:${segmentId}`);
  if (message.type === 'score.changed' && typeof kind === 'string') topics.push(`score:${kind}`);
  if (message.type === 'recompute.completed') topics.push('recompute');
  if (message.type === 'alert.fired') topics.push('alerts');
  return topics;
}

type Listener = (message: RealtimeMessage) => void;

/**
 * The realtime half of a process. In a worker it publishes each dispatched
 * domain event to the fan-out; in a gateway it receives them (listening from
 * its first subscription) and hands each to the local subscriptions of its
 * topics. It counts subscriptions per key and gives each a bounded queue.
 */
export class RealtimeHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly perKey = new Map<string, number>();
  private readonly open = new Set<SubscriberQueue<unknown>>();
  /** Open subscriptions that receive messages now: their listeners registered and the fan-out listening. */
  private readonly live = new Set<SubscriberQueue<unknown>>();
  private listening?: Promise<void>;
  private closed = false;

  constructor(
    private readonly fanOut: FanOut,
    readonly limits: RealtimeLimits,
    private readonly logger: Logger,
  ) {}

  /** Publishes dispatched events to every gateway, in order (from the outbox batch consumer, in its transaction). */
  async publish(db: OutboxWriter, events: readonly DomainEvent[]): Promise<void> {
    await this.fanOut.publish(
      db,
      events.map((event) => ({
        id: event.id,
        type: event.type,
        customerId: event.customerId,
        payload: event.payload as unknown as Record<string, unknown>,
        occurredAt: new Date(event.occurredAt).toISOString(),
      })),
    );
  }

  /**
   * A subscription of `subject` to the messages of `topics` that `select`
   * maps to a value (undefined: not for this subscriber).
   *
   * @throws RapportError SUBSCRIPTION_LIMIT_EXCEEDED when the key holds its limit of subscriptions.
   */
  async subscribe<T>(subject: string, topics: readonly string[], select: (message: RealtimeMessage) => T | undefined): Promise<SubscriberQueue<T>> {
    const queue = this.open_<T>(subject, () => {
      for (const topic of topics) {
        const set = this.listeners.get(topic);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(topic);
      }
    });
    const listener: Listener = (message) => {
      const value = select(message);
      if (value !== undefined) queue.push(value);
    };
    for (const topic of topics) this.listeners.set(topic, (this.listeners.get(topic) ?? new Set()).add(listener));
    try {
      await this.ensureListening();
    } catch (error) {
      void queue.return();
      throw error;
    }
    if (!queue.ended) this.live.add(queue as SubscriberQueue<unknown>);
    return queue;
  }

  /**
   * A subscription to something read rather than published (a job's
   * progress): `read` runs at once, every JOB_POLL_MS and whenever a message
   * of `topic` arrives; each change of `version(value)` is pushed, and the
   * subscription ends after a value `final` accepts.
   */
  async watch<T>(
    subject: string,
    topic: string,
    read: () => Promise<T | null>,
    version: (value: T) => string,
    final: (value: T) => boolean,
  ): Promise<SubscriberQueue<T>> {
    let last: string | undefined;
    let reading = false;
    const poll = async () => {
      if (reading || queue.ended) return;
      reading = true;
      try {
        const value = await read();
        if (value === null || queue.ended) return;
        const current = version(value);
        if (current !== last) {
          last = current;
          queue.push(value);
        }
        if (final(value)) {
          clearInterval(timer);
          // Read before the end: end() would discard what is still queued.
          const finish = setInterval(() => {
            if (queue.size === 0 || queue.ended) {
              clearInterval(finish);
              queue.end();
            }
          }, 20);
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'reading a watched job failed; trying again');
      } finally {
        reading = false;
      }
    };
    const listener: Listener = () => void poll();
    const queue = this.open_<T>(subject, () => {
      clearInterval(timer);
      this.listeners.get(topic)?.delete(listener);
    });
    this.listeners.set(topic, (this.listeners.get(topic) ?? new Set()).add(listener));
    const timer = setInterval(() => void poll(), JOB_POLL_MS);
    timer.unref();
    await poll();
    // A watch reads on its own timer: it follows the job from now even before the fan-out listens.
    if (!queue.ended) this.live.add(queue as SubscriberQueue<unknown>);
    this.ensureListening().catch((error: unknown) => this.logger.warn({ err: error }, 'realtime listener failed to start'));
    return queue;
  }

  /**
   * Subscriptions of this process that receive what is published from now on
   * (registered, and the fan-out listening or, for a job watch, its own poll
   * running), whoever holds them. A client
   * cannot tell when its subscription got there; operators and tests can.
   */
  get liveSubscriptions(): number {
    return this.live.size;
  }

  /** Subscriptions `subject` holds on this process. */
  subscriptionsOf(subject: string): number {
    return this.perKey.get(subject) ?? 0;
  }

  /** Ends every local subscription (their streams complete) and stops listening: a gateway's first step at shutdown. */
  async stopListening(): Promise<void> {
    this.closed = true;
    for (const queue of [...this.open]) queue.end();
    await this.fanOut.stopListening();
  }

  /** Stops publishing too, once no dispatcher of this process runs any more. */
  async close(): Promise<void> {
    await this.stopListening();
    await this.fanOut.close();
  }

  private open_<T>(subject: string, unregister: () => void): SubscriberQueue<T> {
    if (this.closed) throw fail('BAD_REQUEST', { detail: 'the server is shutting down; subscribe again to another gateway' });
    const held = this.perKey.get(subject) ?? 0;
    if (held >= this.limits.maxSubscriptionsPerKey) throw fail('SUBSCRIPTION_LIMIT_EXCEEDED', { limit: this.limits.maxSubscriptionsPerKey });
    this.perKey.set(subject, held + 1);
    const queue = new SubscriberQueue<T>({
      capacity: this.limits.bufferSize,
      perSecond: this.limits.eventsPerSecond,
      onClose: () => {
        unregister();
        this.open.delete(queue as SubscriberQueue<unknown>);
        this.live.delete(queue as SubscriberQueue<unknown>);
        const count = (this.perKey.get(subject) ?? 1) - 1;
        if (count > 0) this.perKey.set(subject, count);
        else this.perKey.delete(subject);
      },
    });
    this.open.add(queue as SubscriberQueue<unknown>);
    return queue;
  }

  private ensureListening(): Promise<void> {
    this.listening ??= this.fanOut
      .listen((message) => this.receive(message))
      .catch((error: unknown) => {
        this.listening = undefined;
        throw error;
      });
    return this.listening;
  }

  private receive(message: RealtimeMessage): void {
    for (const topic of topicsOf(message)) {
      for (const listener of this.listeners.get(topic) ?? []) {
        try {
          listener(message);
        } catch (error) {
          this.logger.warn({ err: error, type: message.type }, 'realtime subscriber failed on a message');
        }
      }
    }
  }
}

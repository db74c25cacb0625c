import type { DataSource, EntityManager } from 'typeorm';
import { afterCommit, inAmbientTransaction, inTransaction } from '../../infra/database';
import type { Logger } from '../../infra/logger';
import { EVENT_TYPES, TRANSACTION_EVENT_TYPES, type DomainEvent, type EventType, type TransactionEventCatalog, type TransactionEventType } from './catalog';

/**
 * Handles one event. It runs in a transaction that also records the event as
 * applied for its consumer: what the handler writes through `manager` commits
 * with that record, so a redelivered event is applied once. Throwing rolls
 * both back; the event is delivered again on a later dispatch.
 */
export type EventHandler<T extends EventType> = (event: DomainEvent<T>, manager: EntityManager) => Promise<void>;

/**
 * Handles an in-transaction event inside the publisher's transaction, with
 * its EntityManager: what it writes commits with the change, and throwing
 * rolls the change back. Work that must see the change committed (a job
 * that reads it) goes through `afterCommit` (src/infra/database.ts).
 */
export type TransactionEventHandler<T extends TransactionEventType> = (payload: TransactionEventCatalog[T], manager: EntityManager) => Promise<void>;

/**
 * Says, before any transaction, whether a consumer wants an event at all: an
 * event it refuses is neither handed to it nor recorded in its offsets. For
 * consumers that care about a few of many events (alerts on the rules that
 * exist), so the others cost the dispatcher nothing.
 */
export type EventInterest<T extends EventType> = (event: DomainEvent<T>) => boolean | Promise<boolean>;

interface Subscription {
  consumer: string;
  handler: EventHandler<EventType>;
  interest?: EventInterest<EventType>;
}

interface TransactionSubscription {
  consumer: string;
  handler: TransactionEventHandler<TransactionEventType>;
}

/** One subscription as {@link EventBus.subscriptions} lists it. */
export interface SubscriptionInfo {
  /**
   * `outbox`: after commit, by the dispatcher, one event at a time;
   * `batch`: after commit, by the dispatcher, a dispatched batch at a time;
   * `transaction`: synchronously, in the publisher's transaction.
   */
  delivery: 'outbox' | 'batch' | 'transaction';
  event: EventType | TransactionEventType;
  consumer: string;
}

/**
 * Handles the dispatched events of a batch at once, in outbox order (so in
 * order per customer), in the transaction that marks them dispatched: what it
 * writes or NOTIFYs through `manager` commits with that mark. Throwing rolls
 * the mark back and the batch is handed out again on a later dispatch (each
 * event's own consumers are not run twice: their offsets say so). What
 * happens when it keeps failing is the subscription's {@link BatchFailure}:
 * a live feed's batch is dispatched without it after
 * {@link BATCH_CONSUMER_ATTEMPTS} tries (logged at error), so a consumer that
 * stays down cannot hold back the others; an isolating consumer gets the
 * batch event by event and holds back only the customers whose events fail.
 */
export type BatchHandler = (events: DomainEvent[], manager: EntityManager) => Promise<void>;

/**
 * What a batch consumer's failure does.
 * - `drop` (live feeds): the batch is handed out again up to
 *   {@link BATCH_CONSUMER_ATTEMPTS} times, then dispatched without it.
 * - `isolate` (consumers that must see every event, such as outbound
 *   webhooks): the failed batch is handed to the consumer again one event at
 *   a time, each in its own transaction with the consumer's offset, as an
 *   `outbox` subscriber is; an event that still fails holds back only its
 *   customer's events, and the rest of the batch is dispatched. Offsets also
 *   keep a later batch from applying an event twice.
 */
export type BatchFailure = 'drop' | 'isolate';

interface BatchSubscription {
  consumer: string;
  types: ReadonlySet<EventType>;
  handler: BatchHandler;
  onFailure: BatchFailure;
}

/** A batch consumer that failed in `isolate` mode (see {@link BatchFailure}). */
class IsolatedBatchFailure extends Error {
  constructor(
    readonly subscription: BatchSubscription,
    override readonly cause: unknown,
  ) {
    super(`batch consumer ${subscription.consumer} failed`);
  }
}

/** What one dispatch run did. */
export interface DispatchOutcome {
  /** Another dispatcher held the lock; this run did nothing. */
  skipped?: boolean;
  /** Events every subscriber has handled (or that nobody subscribes to). */
  dispatched: number;
  /** Events left pending because a subscriber threw (on them or an earlier event of their customer). */
  pending: number;
}

/** Only one dispatcher reads the outbox at a time, so events of one customer are handed out in order. */
const DISPATCH_LOCK = 0x6f7574626f78; // "outbox"
/**
 * Dispatches in a row a batch consumer may fail before a batch is marked
 * dispatched without it: a live feed that is down (Redis away) must not hold
 * back every other consumer's events for long.
 */
export const BATCH_CONSUMER_ATTEMPTS = 3;
/** How soon after a commit that woke it this process dispatches: commits of one burst share the run. */
const WAKE_DELAY_MS = 10;
/** When a woken run finds another dispatcher at work, how soon it tries again, and how many times. */
const WAKE_RETRY_MS = 50;
const WAKE_RETRIES = 20;
const CONSUMER_NAME = /^[a-z][a-z0-9_.:-]{0,63}$/;

interface OutboxRow {
  customer_id: string;
  id: string;
  type: EventType;
  version: number;
  payload: unknown;
  occurred_at: Date;
}

/**
 * Subscriptions to domain events and the dispatcher that delivers them from
 * the outbox: in outbox order per customer, at least once, each consumer's
 * effects recorded with its offset. A subscriber that throws holds back the
 * later events of that customer (for every consumer) until it succeeds.
 */
export class EventBus {
  private readonly outboxSubscriptions = new Map<EventType, Subscription[]>();
  private readonly transactionSubscriptions = new Map<TransactionEventType, TransactionSubscription[]>();
  private readonly batchSubscriptions: BatchSubscription[] = [];
  /** Failed dispatches in a row, per batch consumer (see {@link BATCH_CONSUMER_ATTEMPTS}). */
  private readonly batchFailures = new Map<string, number>();
  private wakeups = false;
  private wakeTimer?: NodeJS.Timeout;
  private waking = false;
  private wakeAgain = false;
  private wakeRun?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
  ) {}

  /**
   * Registers `handler` as `consumer` for events of `type`. A consumer name is its idempotency key: keep it stable.
   * With `interest`, only the events it accepts are handed over (see {@link EventInterest}).
   */
  subscribe<T extends EventType>(type: T, consumer: string, handler: EventHandler<T>, interest?: EventInterest<T>): void {
    if (!(type in EVENT_TYPES)) throw new Error(`${type} is not an event of the catalog`);
    const list = this.outboxSubscriptions.get(type) ?? [];
    checkConsumer(type, consumer, list);
    list.push({ consumer, handler: handler as unknown as EventHandler<EventType>, interest: interest as unknown as EventInterest<EventType> | undefined });
    this.outboxSubscriptions.set(type, list);
  }

  /**
   * Registers `handler` as `consumer` of an in-transaction event: it runs in
   * the publisher's transaction, after the subscribers registered before it
   * (the assembler registers them in the order their `after` declares).
   */
  subscribeInTransaction<T extends TransactionEventType>(type: T, consumer: string, handler: TransactionEventHandler<T>): void {
    if (!(type in TRANSACTION_EVENT_TYPES)) throw new Error(`${type} is not an in-transaction event of the catalog`);
    const list = this.transactionSubscriptions.get(type) ?? [];
    checkConsumer(type, consumer, list);
    list.push({ consumer, handler: handler as unknown as TransactionEventHandler<TransactionEventType> });
    this.transactionSubscriptions.set(type, list);
  }

  /**
   * Hands an in-transaction event to its subscribers, one after the other, in the caller's transaction.
   * With wake-ups on, the commit of that transaction (a customer refresh, whose score and segment events
   * are the ones real time waits for) wakes this process's dispatcher.
   */
  async emitInTransaction<T extends TransactionEventType>(manager: EntityManager, type: T, payload: TransactionEventCatalog[T]): Promise<void> {
    for (const { handler } of this.transactionSubscriptions.get(type) ?? []) await handler(payload, manager);
    if (this.wakeups && inAmbientTransaction()) afterCommit(async () => this.wake());
  }

  /**
   * Turns on wake-ups in a process that runs the dispatcher: besides the
   * scheduled runs (RAPPORT_OUTBOX_DISPATCH_MS), it dispatches right after a
   * transaction that emitted an in-transaction event commits, so the events
   * that transaction wrote do not wait for the next period.
   */
  enableWakeups(): void {
    this.wakeups = true;
  }

  /** Stops wake-ups (at shutdown, before the workers stop) and waits for a woken run under way. */
  async disableWakeups(): Promise<void> {
    this.wakeups = false;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    await this.wakeRun;
  }

  /** Dispatches soon in this process (see {@link enableWakeups}); wakes during a run make one more run. */
  wake(delayMs = WAKE_DELAY_MS, retries = WAKE_RETRIES): void {
    if (!this.wakeups) return;
    if (this.waking || this.wakeTimer) {
      this.wakeAgain = true;
      return;
    }
    this.wakeTimer = setTimeout(() => {
      this.wakeRun = this.runWake(retries);
    }, delayMs);
    this.wakeTimer.unref();
  }

  private async runWake(retries: number): Promise<void> {
    this.wakeTimer = undefined;
    this.waking = true;
    this.wakeAgain = false;
    let skipped = false;
    try {
      skipped = Boolean((await this.dispatch()).skipped);
    } catch (error) {
      this.logger.warn({ err: error }, 'a woken outbox dispatch failed; the scheduled one will deliver');
    } finally {
      this.waking = false;
    }
    // Another dispatcher held the lock and may have read the outbox before this commit: try again shortly.
    if (skipped && retries > 0) this.wake(WAKE_RETRY_MS, retries - 1);
    else if (this.wakeAgain) this.wake();
  }

  /** Every subscription, in delivery order per event. */
  subscriptions(): SubscriptionInfo[] {
    return [
      ...[...this.outboxSubscriptions].flatMap(([event, list]) => list.map(({ consumer }) => ({ delivery: 'outbox' as const, event, consumer }))),
      ...this.batchSubscriptions.flatMap(({ consumer, types }) => [...types].map((event) => ({ delivery: 'batch' as const, event, consumer }))),
      ...[...this.transactionSubscriptions].flatMap(([event, list]) => list.map(({ consumer }) => ({ delivery: 'transaction' as const, event, consumer }))),
    ];
  }

  /**
   * Registers `handler` as `consumer` for the events of `types`, handed over
   * a batch at a time when they are marked dispatched (see {@link BatchHandler}):
   * for consumers that publish elsewhere (the realtime fan-out) and would
   * otherwise cost a transaction per event. Delivery is at least once.
   */
  subscribeBatch(types: readonly EventType[], consumer: string, handler: BatchHandler, onFailure: BatchFailure = 'drop'): void {
    if (!CONSUMER_NAME.test(consumer)) throw new Error(`consumer name "${consumer}" must be a lower-case name (letters, digits, _ . : -)`);
    if (this.batchSubscriptions.some((s) => s.consumer === consumer)) throw new Error(`batch consumer "${consumer}" is subscribed twice`);
    this.batchSubscriptions.push({ consumer, types: new Set(types), handler, onFailure });
  }

  /**
   * Delivers pending events, oldest first, in batches until none are left
   * or `budgetMs` has passed.
   */
  async dispatch({ batch = 500, budgetMs = 5_000 } = {}): Promise<DispatchOutcome> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock(${DISPATCH_LOCK}) AS locked`);
      if (!locked) return { skipped: true, dispatched: 0, pending: 0 };
      try {
        const outcome: DispatchOutcome = { dispatched: 0, pending: 0 };
        const until = Date.now() + budgetMs;
        for (;;) {
          const rows: OutboxRow[] = await runner.query(
            `SELECT customer_id::text, id::text, type, version, payload, occurred_at FROM outbox_events WHERE dispatched_at IS NULL ORDER BY outbox_events.id LIMIT $1`,
            [batch],
          );
          const { dispatched, pending } = await this.deliver(rows);
          outcome.dispatched += dispatched;
          outcome.pending = pending;
          if (rows.length < batch || dispatched === 0 || Date.now() > until) return outcome;
        }
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(${DISPATCH_LOCK})`);
      }
    } finally {
      await runner.release();
    }
  }

  /** Deletes events dispatched more than `retentionHours` ago, with their consumer offsets; pending ones stay. */
  async sweep(retentionHours: number): Promise<number> {
    return inTransaction(this.dataSource, async (manager) => {
      const rows: { deleted: number }[] = await manager.query(
        `WITH gone AS (
           DELETE FROM outbox_events WHERE dispatched_at IS NOT NULL AND dispatched_at < now() - make_interval(hours => $1) RETURNING customer_id, id),
         offsets AS (
           DELETE FROM outbox_consumer_offsets o USING gone g WHERE o.customer_id = g.customer_id AND o.event_id = g.id)
         SELECT count(*)::int AS deleted FROM gone`,
        [retentionHours],
      );
      return rows[0].deleted;
    });
  }

  private async deliver(rows: OutboxRow[]): Promise<{ dispatched: number; pending: number }> {
    const blocked = new Set<string>();
    let done: OutboxRow[] = [];
    let pending = 0;
    for (const row of rows) {
      if (blocked.has(row.customer_id)) {
        pending++;
        continue;
      }
      const failure = await this.handOut(row);
      if (failure === undefined) {
        done.push(row);
        continue;
      }
      blocked.add(row.customer_id);
      pending++;
      await this.dataSource.query(`UPDATE outbox_events SET attempts = attempts + 1, last_error = $3 WHERE customer_id = $1 AND id = $2`, [
        row.customer_id,
        row.id,
        failure.slice(0, 1_000),
      ]);
    }
    let isolated = false;
    while (done.length > 0) {
      try {
        await this.markDispatched(done);
        return { dispatched: done.length, pending };
      } catch (error) {
        // An isolating consumer failed: hand it this batch one event at a time, then try the mark once more.
        if (!(error instanceof IsolatedBatchFailure) || isolated) return { dispatched: 0, pending: pending + done.length };
        isolated = true;
        this.logger.warn(
          { err: error.cause, consumer: error.subscription.consumer, events: done.length },
          'batch event subscriber failed; handing it the batch event by event',
        );
        const failed = await this.isolate(error.subscription, done);
        pending += done.filter((row) => failed.has(row.customer_id)).length;
        done = done.filter((row) => !failed.has(row.customer_id));
      }
    }
    return { dispatched: 0, pending };
  }

  /**
   * Events of `done` that `consumer` has not applied through its offsets (a
   * batch it failed was handed to it event by event before).
   */
  private async unapplied(manager: EntityManager, consumer: string, events: DomainEvent[]): Promise<DomainEvent[]> {
    const applied: { customer_id: string; event_id: string }[] = await manager.query(
      `SELECT o.customer_id::text, o.event_id::text FROM outbox_consumer_offsets o
         JOIN unnest($2::bigint[], $3::bigint[]) AS e(customer_id, id) ON o.customer_id = e.customer_id AND o.event_id = e.id
        WHERE o.consumer = $1`,
      [consumer, events.map((e) => e.customerId), events.map((e) => e.id)],
    );
    if (applied.length === 0) return events;
    const seen = new Set(applied.map((a) => `${a.customer_id}:${a.event_id}`));
    return events.filter((e) => !seen.has(`${e.customerId}:${e.id}`));
  }

  /** Hands `subscription` the events of `rows` one at a time, as an outbox subscriber; returns the customers whose events it could not apply. */
  private async isolate(subscription: BatchSubscription, rows: readonly OutboxRow[]): Promise<Set<string>> {
    const failed = new Set<string>();
    for (const row of rows) {
      if (!subscription.types.has(row.type) || failed.has(row.customer_id)) continue;
      try {
        await inTransaction(this.dataSource, async (manager) => {
          const claimed: unknown[] = await manager.query(
            `INSERT INTO outbox_consumer_offsets (customer_id, consumer, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`,
            [row.customer_id, subscription.consumer, row.id],
          );
          if (claimed.length > 0) await subscription.handler([toEvent(row)], manager);
        });
      } catch (error) {
        failed.add(row.customer_id);
        this.logger.warn(
          { err: error, consumer: subscription.consumer, eventId: row.id, type: row.type },
          'event subscriber failed; the event will be delivered again',
        );
        await this.dataSource.query(`UPDATE outbox_events SET attempts = attempts + 1, last_error = $3 WHERE customer_id = $1 AND id = $2`, [
          row.customer_id,
          row.id,
          `${subscription.consumer}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 1_000),
        ]);
      }
    }
    return failed;
  }

  /** Runs the batch consumers on `done` and marks it dispatched, in one transaction. */
  private async markDispatched(done: readonly OutboxRow[]): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      for (const subscription of this.batchSubscriptions) {
        const { consumer, types, handler } = subscription;
        let events = done.filter((row) => types.has(row.type)).map(toEvent);
        if (subscription.onFailure === 'isolate' && events.length > 0) events = await this.unapplied(manager, consumer, events);
        if (events.length === 0) continue;
        if (subscription.onFailure === 'isolate') {
          try {
            await handler(events, manager);
          } catch (error) {
            throw new IsolatedBatchFailure(subscription, error);
          }
          continue;
        }
        const failures = this.batchFailures.get(consumer) ?? 0;
        if (failures >= BATCH_CONSUMER_ATTEMPTS) {
          this.logger.error(
            { consumer, events: events.length, attempts: failures },
            'batch event subscriber kept failing; these events are dispatched without it',
          );
          this.batchFailures.delete(consumer);
          continue;
        }
        try {
          await handler(events, manager);
          this.batchFailures.delete(consumer);
        } catch (error) {
          this.batchFailures.set(consumer, failures + 1);
          this.logger.warn({ err: error, consumer, events: events.length }, 'batch event subscriber failed; the batch will be delivered again');
          throw error;
        }
      }
      await manager.query(
        `UPDATE outbox_events o SET dispatched_at = now() FROM unnest($1::bigint[], $2::bigint[]) AS d(customer_id, id)
          WHERE o.customer_id = d.customer_id AND o.id = d.id`,
        [done.map((d) => d.customer_id), done.map((d) => d.id)],
      );
    });
  }

  /** Hands one event to each of its subscribers that has not applied it yet; returns the first failure. */
  private async handOut(row: OutboxRow): Promise<string | undefined> {
    const subscriptions = this.outboxSubscriptions.get(row.type) ?? [];
    if (subscriptions.length === 0) return undefined;
    const event = toEvent(row);
    for (const { consumer, handler, interest } of subscriptions) {
      try {
        if (interest && !(await interest(event))) continue;
        await inTransaction(this.dataSource, async (manager) => {
          const claimed: unknown[] = await manager.query(
            `INSERT INTO outbox_consumer_offsets (customer_id, consumer, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`,
            [row.customer_id, consumer, row.id],
          );
          // Applied before (a dispatcher stopped before marking the event dispatched): not again.
          if (claimed.length === 0) return;
          await handler(event, manager);
        });
      } catch (error) {
        this.logger.warn({ err: error, consumer, eventId: row.id, type: row.type }, 'event subscriber failed; the event will be delivered again');
        return `${consumer}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    return undefined;
  }
}

function checkConsumer(type: string, consumer: string, list: readonly { consumer: string }[]): void {
  if (!CONSUMER_NAME.test(consumer)) throw new Error(`consumer name "${consumer}" must be a lower-case name (letters, digits, _ . : -)`);
  if (list.some((s) => s.consumer === consumer)) throw new Error(`consumer "${consumer}" is subscribed to ${type} twice`);
}

function toEvent(row: OutboxRow): DomainEvent {
  return { id: row.id, type: row.type, version: row.version, customerId: row.customer_id, payload: row.payload as never, occurredAt: row.occurred_at };
}

import type { Job } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';
import type { WebhookSettings } from '../../config';
import { fail } from '../../errors/catalog';
import { afterCommit, inTransaction } from '../../infra/database';
import { isDatabaseId } from '../../infra/db-values';
import { decodeCursor, encodeCursor } from '../../infra/cursor';
import type { Logger } from '../../infra/logger';
import type { Page } from '../../infra/page';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import { pageSize } from '../../infra/sql-filter';
import { auditRecords, recordSystemAudit } from '../access';
import { NO_CUSTOMER, publish, type DomainEvent } from '../events';
import type { EndpointService } from './endpoint.service';
import type { SendResult, WebhookSender } from './sender';
import { signatureHeaders } from './signing';

export const WEBHOOK_DELIVER_JOB = 'webhooks.deliver';
export const WEBHOOK_SWEEP_JOB = 'webhooks.sweep';

/** The values of `webhook_deliveries.status` (its check constraint). */
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'DELIVERED', 'DEAD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One delivery of one event to one endpoint. */
export interface DeliveryRecord {
  id: string;
  customerId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  eventAt: Date;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** One HTTP attempt of a delivery. */
export interface AttemptRecord {
  id: string;
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
}

/** What a `webhooks.deliver` job carries: ids only. */
interface DeliverJobData {
  customerId: string;
  deliveryId: string;
}

const DELIVERY_COLUMNS = `d.id::text, d.customer_id::text AS "customerId", d.endpoint_id::text AS "endpointId", d.event_id::text AS "eventId",
  d.event_type AS "eventType", d.body, d.event_at AS "eventAt", d.status, d.attempts,
  CASE WHEN d.status IN ('PENDING', 'RETRYING') THEN d.next_attempt_at END AS "nextAttemptAt",
  d.last_status_code AS "lastStatusCode", d.last_error AS "lastError", d.created_at AS "createdAt", d.delivered_at AS "deliveredAt"`;

/** Deliveries handed to the queue at once. */
const ENQUEUE_CHUNK = 1_000;
/** Open deliveries the sweep re-queues per run. */
const SWEEP_LIMIT = 5_000;
/** The most attempts one delivery lists. */
const ATTEMPTS_SHOWN = 100;

/**
 * The transaction lock of one (endpoint, customer) lane, as SQL: the outbox
 * consumer takes it to add a delivery, the job to settle one, so that a new
 * delivery is either queued as the lane's head or found by the one settling.
 */
const LANE_LOCK = (endpoint: string, customer: string) => `pg_advisory_xact_lock((${endpoint})::int, ((${customer}) % 2147483647)::int)`;

/** How long new deliveries wait to be queued together, in ms. */
const BATCH_WINDOW_MS = 20;

/**
 * Gathers deliveries to queue and queues them together, at most
 * {@link BATCH_WINDOW_MS} later: the dispatcher commits one event per
 * transaction, and a queue round trip per event would cost more than the
 * event. What is lost here (the process dies in the window) is queued by the
 * sweep.
 */
class EnqueueBatcher {
  private pending: { id: string; customerId: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (deliveries: { id: string; customerId: string }[]) => Promise<void>) {}

  add(deliveries: readonly { id: string; customerId: string }[]): void {
    this.pending.push(...deliveries);
    this.timer ??= setTimeout(() => void this.flush(), BATCH_WINDOW_MS);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) await this.send(batch);
  }
}

/**
 * A delivery may go now when it is open, due, not held by another worker, its
 * endpoint is ACTIVE, and no earlier delivery of the same customer to the same
 * endpoint is still open (order per customer and endpoint). Events about no
 * customer (customer_id 0) are not ordered among themselves.
 */
const SENDABLE = `d.status IN ('PENDING', 'RETRYING') AND (d.locked_until IS NULL OR d.locked_until < now()) AND e.status = 'ACTIVE'
  AND (d.customer_id = 0 OR NOT EXISTS (
    SELECT 1 FROM webhook_deliveries p
     WHERE p.customer_id = d.customer_id AND p.endpoint_id = d.endpoint_id AND p.event_id < d.event_id AND p.status IN ('PENDING', 'RETRYING')))`;

/**
 * Outbound webhook delivery: the outbox consumer that turns a committed
 * domain event into one delivery row per matching endpoint (in the
 * consumer's offset transaction, so none is lost or made twice), the
 * `webhooks.deliver` job that sends it (signed, through the egress guard),
 * records the attempt and schedules the retry with exponential backoff and
 * jitter, the sweep that re-queues deliveries whose job was lost, and replay.
 */
export class DeliveryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queues: QueueBackend,
    private readonly endpoints: EndpointService,
    private readonly sender: WebhookSender,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
  ) {}

  /** Jobs of new deliveries, queued in batches: one queue round trip for many events. */
  private readonly batcher = new EnqueueBatcher((deliveries) => this.enqueue(deliveries));

  /** Queues what the batcher holds (at shutdown). */
  async flush(): Promise<void> {
    await this.batcher.flush();
  }

  /**
   * The outbox handler: one delivery per ACTIVE endpoint that takes the
   * event's type and whose filter the payload passes, written in the
   * dispatcher's transaction; their jobs are queued after it commits.
   */
  /**
   * Writes the deliveries of a dispatched batch, in outbox order. One
   * statement finds which event types any active endpoint takes; the batch's
   * other events cost nothing more.
   */
  async onEvents(events: readonly DomainEvent[], manager: EntityManager): Promise<void> {
    const wanted: { type: string }[] = await manager.query(
      `SELECT DISTINCT unnest(events) AS type FROM webhook_endpoints WHERE status = 'ACTIVE' AND events && $1::text[]`,
      [[...new Set(events.map((e) => e.type))]],
    );
    if (wanted.length === 0) return;
    const types = new Set(wanted.map((w) => w.type));
    for (const event of events) if (types.has(event.type)) await this.onEvent(event, manager);
  }

  async onEvent(event: DomainEvent, manager: EntityManager): Promise<void> {
    const payload = JSON.stringify(event.payload);
    // Lock the (endpoint, customer) lanes first, in endpoint order: a delivery settling in the same lane
    // either committed before (this one is then the head) or sees this one once it commits (and wakes it).
    const matched: { id: string }[] = await manager.query(
      `SELECT e.id::text, ${LANE_LOCK('e.id', '$3::bigint')} FROM webhook_endpoints e
        WHERE e.status = 'ACTIVE' AND $1 = ANY(e.events)
          AND NOT EXISTS (SELECT 1 FROM jsonb_each(e.filter) AS f(k, v) WHERE NOT COALESCE(f.v ? ($2::jsonb ->> f.k), false))
        ORDER BY e.id`,
      [event.type, payload, event.customerId],
    );
    if (matched.length === 0) return;
    const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload });
    const created: { id: string; customerId: string; head: boolean }[] = await manager.query(
      `INSERT INTO webhook_deliveries (customer_id, endpoint_id, event_id, event_type, body, event_at)
       SELECT $1, endpoint_id, $2, $3, $4, $5 FROM unnest($6::bigint[]) AS m(endpoint_id) ORDER BY endpoint_id
       ON CONFLICT DO NOTHING
       RETURNING id::text, customer_id::text AS "customerId",
                 (customer_id = 0 OR NOT EXISTS (
                   SELECT 1 FROM webhook_deliveries p WHERE p.customer_id = $1 AND p.endpoint_id = webhook_deliveries.endpoint_id
                      AND p.event_id < $2 AND p.status IN ('PENDING', 'RETRYING'))) AS head`,
      [event.customerId, event.id, event.type, body, event.occurredAt, matched.map((m) => m.id)],
    );
    // A delivery behind an open one in its lane is queued when that one settles (wakeNext).
    const heads = created.filter((d) => d.head);
    if (heads.length > 0) afterCommit(async () => this.batcher.add(heads));
  }

  /** Queues `webhooks.deliver` jobs; a failure is logged, and the sweep queues them later. */
  async enqueue(deliveries: readonly { id: string; customerId: string }[], delayMs = 0): Promise<void> {
    try {
      const queue = this.queues.queue(QUEUES.webhooks);
      for (let i = 0; i < deliveries.length; i += ENQUEUE_CHUNK) {
        await queue.addBulk(
          deliveries.slice(i, i + ENQUEUE_CHUNK).map(({ id, customerId }) => ({
            name: WEBHOOK_DELIVER_JOB,
            data: { customerId, deliveryId: id } satisfies DeliverJobData,
            // The delivery row holds the retry state; a failed job is not retried by BullMQ.
            opts: { attempts: 1, delay: delayMs, removeOnComplete: true, removeOnFail: 1_000 },
          })),
        );
      }
    } catch (error) {
      this.logger.warn({ err: error, deliveries: deliveries.length }, 'could not queue webhook deliveries; the sweep will');
    }
  }

  /** The `webhooks.deliver` job: one attempt of one delivery, if it may go now. */
  async deliver(job: Pick<Job, 'data'>): Promise<{ status: DeliveryStatus | 'SKIPPED'; statusCode?: number | null }> {
    const { customerId, deliveryId } = job.data as DeliverJobData;
    const leaseSeconds = Math.ceil((this.settings.timeoutMs * 4) / 1000) + 30;
    // An UPDATE answers [rows, count].
    const [[claimed]]: [
      {
        endpointId: string;
        eventId: string;
        body: string;
        attempts: number;
        firstAttemptAt: Date;
        url: string;
        secret: string;
        previousSecret: string | null;
        previousSecretExpiresAt: Date | null;
      }[],
      number,
    ] = await this.dataSource.query(
      `UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => $3), attempts = d.attempts + 1,
              first_attempt_at = COALESCE(d.first_attempt_at, now())
         FROM webhook_endpoints e
        WHERE d.customer_id = $1 AND d.id = $2 AND e.id = d.endpoint_id AND d.next_attempt_at <= now() + interval '1 second' AND ${SENDABLE}
        RETURNING d.endpoint_id::text AS "endpointId", d.event_id::text AS "eventId", d.body, d.attempts, d.first_attempt_at AS "firstAttemptAt",
                  e.url, e.secret, e.previous_secret AS "previousSecret", e.previous_secret_expires_at AS "previousSecretExpiresAt"`,
      [customerId, deliveryId, leaseSeconds],
    );
    if (!claimed) return { status: 'SKIPPED' };
    let result: SendResult;
    try {
      const headers = signatureHeaders(this.endpoints.signingSecrets(claimed), claimed.eventId, Math.floor(Date.now() / 1000), claimed.body);
      result = await this.sender.send(claimed.url, headers, claimed.body);
    } catch (error) {
      // A secret that cannot be read (the key changed) is a failed attempt like any other, recorded and retried.
      result = { ok: false, statusCode: null, latencyMs: 0, responseBody: null, error: error instanceof Error ? error.message : String(error), refused: false };
    }
    const status = await this.record(customerId, deliveryId, claimed, result);
    return { status, statusCode: result.statusCode };
  }

  /** Records an attempt and what follows: delivered, a retry, or DEAD; the endpoint's failure streak, and disabling it. */
  private async record(
    customerId: string,
    deliveryId: string,
    claimed: { endpointId: string; attempts: number; firstAttemptAt: Date },
    result: SendResult,
  ): Promise<DeliveryStatus> {
    const delayMs = this.retryDelay(claimed.attempts);
    const dead = !result.ok && Date.now() + delayMs > new Date(claimed.firstAttemptAt).getTime() + this.settings.retryForMs;
    const status: DeliveryStatus = result.ok ? 'DELIVERED' : dead ? 'DEAD' : 'RETRYING';
    await inTransaction(this.dataSource, async (manager) => {
      if (customerId !== NO_CUSTOMER) await manager.query(`SELECT ${LANE_LOCK('$1::bigint', '$2::bigint')}`, [claimed.endpointId, customerId]);
      await manager.query(
        `INSERT INTO webhook_attempts (customer_id, delivery_id, status_code, latency_ms, response_body, error) VALUES ($1, $2, $3, $4, $5, $6)`,
        [customerId, deliveryId, result.statusCode, result.latencyMs, result.responseBody, result.error],
      );
      await manager.query(
        `UPDATE webhook_deliveries SET status = $3, locked_until = NULL, last_status_code = $4, last_error = $5,
                next_attempt_at = CASE WHEN $3 = 'RETRYING' THEN now() + make_interval(secs => $6) ELSE next_attempt_at END,
                delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() ELSE delivered_at END
          WHERE customer_id = $1 AND id = $2`,
        [customerId, deliveryId, status, result.statusCode, result.error, delayMs / 1000],
      );
      if (result.ok) {
        await manager.query(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, [claimed.endpointId]);
      } else {
        await this.countFailure(manager, claimed.endpointId);
      }
      // The next delivery of the lane, read under the lane's lock: one committed after this is a head itself.
      const next = status === 'RETRYING' ? [] : await this.nextInLane(manager, customerId, claimed.endpointId);
      afterCommit(async () => {
        if (status === 'RETRYING') await this.enqueue([{ id: deliveryId, customerId }], delayMs);
        else await this.enqueue(next);
      });
    });
    return status;
  }

  /**
   * Starts (or continues) the endpoint's failure streak; once it is older than
   * RAPPORT_WEBHOOK_DISABLE_AFTER_DAYS the endpoint is DISABLED, with a
   * `webhook_endpoint.disabled` event and an audit entry in the same transaction.
   */
  private async countFailure(manager: EntityManager, endpointId: string): Promise<void> {
    // Two statements: one statement cannot update the same row twice.
    const [[streak]]: [{ failingSince: Date }[], number] = await manager.query(
      `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()) WHERE id = $1 RETURNING failing_since AS "failingSince"`,
      [endpointId],
    );
    if (!streak) return;
    const [[disabled]]: [{ failingSince: Date }[], number] = await manager.query(
      `UPDATE webhook_endpoints SET status = 'DISABLED', disabled_at = now(), updated_at = now(),
              disabled_reason = 'every delivery failed since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        WHERE id = $1 AND status = 'ACTIVE' AND failing_since <= now() - make_interval(secs => $2)
        RETURNING failing_since AS "failingSince"`,
      [endpointId, this.settings.disableAfterMs / 1000],
    );
    if (!disabled) return;
    const failingSince = new Date(disabled.failingSince).toISOString();
    await publish(manager, 'webhook_endpoint.disabled', [{ customerId: NO_CUSTOMER, payload: { endpointId, failingSince } }]);
    await recordSystemAudit(manager, {
      actor: 'system:webhooks',
      operation: 'disableWebhookEndpoint',
      variables: { id: endpointId, status: 'DISABLED' },
      records: [`webhook_endpoint:${endpointId}`],
    });
    this.logger.warn({ endpointId, failingSince }, 'webhook endpoint disabled after failing for too long');
  }

  /** Exponential backoff with equal jitter: half the capped delay, plus a random share of the other half. */
  retryDelay(attempts: number): number {
    const capped = Math.min(this.settings.retryMaxDelayMs, this.settings.retryBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
    return Math.round(capped / 2 + Math.random() * (capped / 2));
  }

  /**
   * The next open delivery of a customer to an endpoint, once the one before it
   * is settled. Not filtered on `next_attempt_at`: this transaction's `now()`
   * may be older than a delivery committed while it waited for the lane lock;
   * one that is not due yet is left alone by the job's claim.
   */
  private async nextInLane(manager: EntityManager, customerId: string, endpointId: string): Promise<{ id: string; customerId: string }[]> {
    if (customerId === NO_CUSTOMER) return [];
    return manager.query(
      `SELECT d.id::text, d.customer_id::text AS "customerId" FROM webhook_deliveries d
        WHERE d.customer_id = $1 AND d.endpoint_id = $2 AND d.status IN ('PENDING', 'RETRYING')
        ORDER BY d.event_id LIMIT 1`,
      [customerId, endpointId],
    );
  }

  /**
   * The `webhooks.sweep` job: queues every delivery that may go now and was
   * due for longer than a sweep period (its job was lost: the process died
   * before queueing it, the queue was away, a worker died holding it).
   */
  async sweep(endpointId: string | null = null, graceMs = this.settings.sweepMs): Promise<number> {
    const due: { id: string; customerId: string }[] = await this.dataSource.query(
      `SELECT d.id::text, d.customer_id::text AS "customerId" FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status IN ('PENDING', 'RETRYING') AND d.next_attempt_at <= now() - make_interval(secs => $1)
          AND ($2::bigint IS NULL OR d.endpoint_id = $2) AND ${SENDABLE}
        ORDER BY d.next_attempt_at LIMIT ${SWEEP_LIMIT}`,
      [graceMs / 1000, endpointId],
    );
    await this.enqueue(due);
    return due.length;
  }

  /** Sends a delivery again now (DEAD or DELIVERED: a new retry window; open: without waiting for its retry). */
  async replay(id: string): Promise<DeliveryRecord> {
    const [row] = await inTransaction(this.dataSource, async (manager) => {
      const [rows]: [DeliveryRecord[], number] = isDatabaseId(id)
        ? await manager.query(
            `UPDATE webhook_deliveries d SET status = CASE WHEN d.status = 'RETRYING' THEN 'RETRYING' ELSE 'PENDING' END, next_attempt_at = now(),
                    attempts = CASE WHEN d.status IN ('DEAD', 'DELIVERED') THEN 0 ELSE d.attempts END,
                    first_attempt_at = CASE WHEN d.status IN ('DEAD', 'DELIVERED') THEN NULL ELSE d.first_attempt_at END
               WHERE d.id = $1 RETURNING ${DELIVERY_COLUMNS}`,
            [id],
          )
        : [[], 0];
      if (rows.length === 0) throw fail('WEBHOOK_DELIVERY_NOT_FOUND', { id }, 'id');
      auditRecords('webhook_delivery', [id]);
      return rows;
    });
    await this.enqueue([{ id: row.id, customerId: row.customerId }]);
    return row;
  }

  /**
   * Sends again every delivery of an endpoint whose event happened in
   * [from, to), optionally only those in `status`. Answers how many.
   */
  async replayRange(endpointId: string, from: Date, to: Date, status: DeliveryStatus | null): Promise<number> {
    if (!(from < to)) throw fail('VALIDATION_FAILED', { detail: 'from must be before to' }, 'from');
    await this.endpoints.require(endpointId);
    const count = await inTransaction(this.dataSource, async (manager) => {
      const [, changed] = await manager.query(
        `UPDATE webhook_deliveries d SET status = CASE WHEN d.status = 'RETRYING' THEN 'RETRYING' ELSE 'PENDING' END, next_attempt_at = now(),
                attempts = CASE WHEN d.status IN ('DEAD', 'DELIVERED') THEN 0 ELSE d.attempts END,
                first_attempt_at = CASE WHEN d.status IN ('DEAD', 'DELIVERED') THEN NULL ELSE d.first_attempt_at END
          WHERE d.endpoint_id = $1 AND d.event_at >= $2 AND d.event_at < $3 AND ($4::text IS NULL OR d.status = $4)`,
        [endpointId, from, to, status],
      );
      auditRecords('webhook_endpoint', [endpointId]);
      return Number(changed ?? 0);
    });
    await this.wakeEndpoint(endpointId);
    return count;
  }

  /** Queues every delivery of an endpoint that may go now (after a replay, or when it is enabled again). */
  async wakeEndpoint(endpointId: string): Promise<void> {
    for (;;) {
      const queued = await this.sweep(endpointId, 0);
      if (queued < SWEEP_LIMIT) return;
    }
  }

  /** Deliveries of an endpoint, newest first, optionally in one status. */
  async list(
    endpointId: string,
    status: DeliveryStatus | null,
    args: { first?: number | null; after?: string | null },
  ): Promise<Page<DeliveryRecord> & { totalCount: () => Promise<number> }> {
    await this.endpoints.require(endpointId);
    const first = pageSize(args.first);
    const afterId = args.after ? decodeCursor('webhook-deliveries', args.after, 1)[0] : null;
    const rows: DeliveryRecord[] = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d
        WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.status = $2) AND ($3::bigint IS NULL OR d.id < $3::bigint)
        ORDER BY d.endpoint_id DESC, d.id DESC LIMIT $4`,
      [endpointId, status, afterId, first + 1],
    );
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor('webhook-deliveries', [node.id]), node }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
      totalCount: async () => {
        const [{ count }] = await this.dataSource.query(
          `SELECT count(*)::int AS count FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2)`,
          [endpointId, status],
        );
        return count;
      },
    };
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    if (!isDatabaseId(id)) return undefined;
    const [row] = await this.dataSource.query(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = $1`, [id]);
    return row;
  }

  /** A delivery's attempts, newest first. */
  async attempts(delivery: Pick<DeliveryRecord, 'id' | 'customerId'>): Promise<AttemptRecord[]> {
    return this.dataSource.query(
      `SELECT id::text, attempted_at AS "attemptedAt", status_code AS "statusCode", latency_ms AS "latencyMs", response_body AS "responseBody", error
         FROM webhook_attempts WHERE customer_id = $1 AND delivery_id = $2 ORDER BY webhook_attempts.id DESC LIMIT ${ATTEMPTS_SHOWN}`,
      [delivery.customerId, delivery.id],
    );
  }
}

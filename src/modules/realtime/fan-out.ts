import IORedis, { type Redis } from 'ioredis';
import { Client } from 'pg';
import type { Logger } from '../../infra/logger';
import type { QueueBackendConfig } from '../../infra/queue';
import type { OutboxWriter } from '../events';

/** A domain event as it travels from the dispatching worker to every gateway: ids and impersonal figures only. */
export interface RealtimeMessage {
  id: string;
  type: string;
  customerId: string;
  payload: Record<string, unknown>;
  occurredAt: string;
}

/**
 * Carries realtime messages from the worker that dispatches the outbox to
 * every gateway process, each of which hands them to its own subscribers.
 */
export interface FanOut {
  readonly kind: 'postgres' | 'redis';
  /** Publishes from the dispatcher's batch handler, in order; `db` is its transaction. */
  publish(db: OutboxWriter, messages: readonly RealtimeMessage[]): Promise<void>;
  /** Starts receiving (a gateway does so at its first subscription). */
  listen(onMessage: (message: RealtimeMessage) => void): Promise<void>;
  /** Stops receiving. */
  stopListening(): Promise<void>;
  /** Stops receiving and publishing; a later publish fails (its event stays pending for another worker). */
  close(): Promise<void>;
}

/** The LISTEN/NOTIFY channel (one per database). */
export const PG_CHANNEL = 'rapport_realtime';
const RECONNECT_MS = 1_000;

/**
 * Postgres LISTEN/NOTIFY, for single-database setups (embedded mode). The
 * NOTIFY is sent in the dispatcher's transaction, so it leaves at its commit
 * and never for an event whose delivery rolled back.
 */
export class PostgresFanOut implements FanOut {
  readonly kind = 'postgres';
  private client?: Client;
  private closed = false;
  private onMessage?: (message: RealtimeMessage) => void;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
  ) {}

  async publish(db: OutboxWriter, messages: readonly RealtimeMessage[]): Promise<void> {
    await db.query('SELECT pg_notify($1, m) FROM unnest($2::text[]) WITH ORDINALITY AS t(m, n) ORDER BY n', [
      PG_CHANNEL,
      messages.map((message) => JSON.stringify(message)),
    ]);
  }

  async listen(onMessage: (message: RealtimeMessage) => void): Promise<void> {
    this.onMessage = onMessage;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.connectionString, application_name: 'rapport-realtime' });
    client.on('notification', (notification) => {
      if (notification.channel !== PG_CHANNEL || !notification.payload) return;
      this.receive(notification.payload);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'realtime listener connection lost; reconnecting');
      void client.end().catch(() => undefined);
      if (this.client === client) this.client = undefined;
      this.reconnectLater();
    });
    await client.connect();
    await client.query(`LISTEN ${PG_CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
  }

  private reconnectLater(): void {
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed || this.client) return;
      this.connect().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'realtime listener could not reconnect; retrying');
        this.reconnectLater();
      });
    }, RECONNECT_MS).unref();
  }

  private receive(payload: string): void {
    try {
      this.onMessage?.(JSON.parse(payload) as RealtimeMessage);
    } catch (error) {
      this.logger.warn({ err: error }, 'unreadable realtime message ignored');
    }
  }

  async stopListening(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.stopListening();
  }
}

/** Redis pub/sub, when Rapport runs on Redis (REDIS_URL): one channel per queue prefix. */
export class RedisFanOut implements FanOut {
  readonly kind = 'redis';
  private publisher?: Redis;
  private subscriber?: Redis;
  private closed = false;
  private readonly channel: string;

  constructor(
    private readonly url: string,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}:realtime`;
  }

  async publish(_db: OutboxWriter, messages: readonly RealtimeMessage[]): Promise<void> {
    if (this.closed) throw new Error('the realtime fan-out is closed');
    this.publisher ??= this.connection();
    const pipeline = this.publisher.pipeline();
    for (const message of messages) pipeline.publish(this.channel, JSON.stringify(message));
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async listen(onMessage: (message: RealtimeMessage) => void): Promise<void> {
    const subscriber = this.connection();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      try {
        onMessage(JSON.parse(payload) as RealtimeMessage);
      } catch (error) {
        this.logger.warn({ err: error }, 'unreadable realtime message ignored');
      }
    });
    await subscriber.subscribe(this.channel);
  }

  private connection(): Redis {
    const connection = new IORedis(this.url, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    connection.on('error', (error) => this.logger.debug({ err: error }, 'realtime redis connection error'));
    return connection;
  }

  async stopListening(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    await subscriber?.quit().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopListening();
    const publisher = this.publisher;
    this.publisher = undefined;
    await publisher?.quit().catch(() => undefined);
  }
}

/** The fan-out of the configured backend: Redis pub/sub when Rapport runs on Redis, Postgres LISTEN/NOTIFY otherwise. */
export function createFanOut(queue: QueueBackendConfig, logger: Logger): FanOut {
  return queue.kind === 'redis' ? new RedisFanOut(queue.url, queue.prefix ?? 'rapport', logger) : new PostgresFanOut(queue.connectionString, logger);
}

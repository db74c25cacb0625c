export { EVENT_TYPES, NO_CUSTOMER, TRANSACTION_EVENT_TYPES } from './catalog';
export type { DomainEvent, EventCatalog, EventType, TransactionEventCatalog, TransactionEventType } from './catalog';
export { BATCH_CONSUMER_ATTEMPTS } from './event-bus';
export type { BatchHandler, EventBus, EventHandler, EventInterest, SubscriptionInfo, TransactionEventHandler } from './event-bus';
export { outboxInsertSql, publish } from './outbox';
export type { OutboxWriter } from './outbox';

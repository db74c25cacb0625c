export { EVENT_TYPES, NO_CUSTOMER } from './catalog';
export type { DomainEvent, EventCatalog, EventType } from './catalog';
export type { BatchHandler, EventBus, EventHandler } from './event-bus';
export { outboxInsertSql, publish } from './outbox';
export type { OutboxWriter } from './outbox';

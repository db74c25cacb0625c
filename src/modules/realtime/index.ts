export { RealtimeHub } from './realtime-hub';
export type { RealtimeLimits } from './realtime-hub';
export type { QueueItem, SubscriberQueue } from './subscriber-queue';
export { SubscriptionLaggedRef } from './realtime.graphql';

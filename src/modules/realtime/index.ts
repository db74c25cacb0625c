export { RealtimeHub } from './realtime-hub';
export type { RealtimeLimits } from './realtime-hub';

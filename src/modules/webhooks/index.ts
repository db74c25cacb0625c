export { WEBHOOK_CONSUMER, WEBHOOK_EVENTS } from './module';
export type { WebhookServices } from './module';
export { sign, signatureHeaders, verify, generateSecret, secretProblem } from './signing';

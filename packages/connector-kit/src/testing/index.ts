/**
 * Test kit for connectors: a context with recorded emits and a fake clock, request
 * builders for webhooks, and the conformance suite every plugin runs.
 *
 * @example
 * ```ts
 * import { createTestContext, createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
 * ```
 * @packageDocumentation
 */
export {
  runConformanceSuite,
  type CheckScenario,
  type ConformanceSuiteOptions,
  type InvalidConfigCase,
  type Lazy,
  type SyncScenario,
  type WebhookRejection,
  type WebhookSample,
} from './conformance';
export { DEFAULT_FAKE_NOW, createFakeClock, type FakeClock } from './fake-clock';
export { createRecordingLogger, type LogEntry, type RecordingLogger } from './recording-logger';
export { createTestContext, loopbackOnlyFetch, type TestContext, type TestContextOptions } from './test-context';
export { createWebhookRequest, tamperWebhookRequest, type CreateWebhookRequestOptions } from './webhook-request';

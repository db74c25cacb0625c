/**
 * Rapport's connector kit: the contract partners code against to bring a channel's
 * customers and interactions into Rapport. See `docs/connectors.md` for the guide and
 * `./testing` for the test harness and conformance suite.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { defineConnector, secret } from '@rapport/connector-kit';
 * ```
 * @packageDocumentation
 */
export {
  CONNECTOR_API_VERSION,
  MAX_SOURCE_KEY_LENGTH,
  SUPPORTED_CONNECTOR_API_VERSIONS,
  defineConnector,
  sourceKeyOf,
  validateConnectorDefinition,
  type ConnectorDefinition,
  type ConnectorHttpPolicy,
} from './define-connector';
export { parseConnectorConfig, type ConfigIssue, type ConfigOf, type ConfigParseResult, type ConnectorConfigSchema } from './config';
export {
  REDACTED,
  describeConfig,
  endpoint,
  endpointKeys,
  isEndpoint,
  isSecret,
  redactSecrets,
  secret,
  secretKeys,
  type ConfigFieldDescription,
  type ConfigFieldType,
} from './secret';
export {
  consentRecordSchema,
  type ConsentRecord,
  customerRecordSchema,
  customerRefSchema,
  identifierSchema,
  ingestBatchSchema,
  ingestSchemasFor,
  interactionRecordSchema,
  parseIngestBatch,
  type RecordSchemas,
  type CustomerRecord,
  type CustomerRef,
  type Identifier,
  type IngestBatch,
  type IngestBatchParseResult,
  type InteractionRecord,
  type ParsedIngestBatch,
} from './ingest-batch';
export {
  isIdentifierProblem,
  isPhoneCountry,
  normalizeIdentifier,
  type IdentifierOptions,
  type IdentifierProblem,
  type NormalizedIdentifier,
} from './identifiers';
export {
  AuthenticationError,
  CONNECTOR_ERROR_CODES,
  ConfigError,
  ConnectorError,
  ConnectorLoadError,
  EgressDeniedError,
  HttpStatusError,
  HttpTimeoutError,
  MalformedPayloadError,
  RateLimitedError,
  RetryableError,
  TooManyRedirectsError,
  WebhookVerificationError,
  isConnectorError,
  type ConnectorErrorCode,
  type ConnectorErrorOptions,
  type ConnectorLoadErrorCode,
  type ConnectorLoadErrorOptions,
  type MalformedPayloadErrorOptions,
  type RateLimitedErrorOptions,
  type RetryableErrorOptions,
  type WebhookVerificationFailure,
} from './errors';
export {
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  WEBHOOK_SIGNATURE_HEADER,
  assertWebhookSignature,
  signWebhook,
  verifyWebhookSignature,
  type VerifyWebhookSignatureInput,
  type WebhookVerificationResult,
} from './webhook-signature';
export type {
  CheckHandler,
  ConnectorContext,
  ConnectorLogger,
  EmitResult,
  LogFields,
  SyncHandler,
  SyncResult,
  WebhookHandler,
  WebhookRequest,
} from './context';
export {
  createHttpClient,
  parseRetryAfter,
  type FetchLike,
  type HttpClient,
  type HttpClientDefaults,
  type HttpClientOptions,
  type HttpRequestOptions,
  type JsonRequestOptions,
  type RateLimitOptions,
  type RetryOptions,
} from './http-client';
export {
  EgressGuard,
  classifyAddress,
  parseAllowedHosts,
  systemResolver,
  type AddressCategory,
  type EgressPolicy,
  type EgressResolver,
  type ResolvedAddress,
} from './egress';
export { deepestIssue, formatIssuePath, toValidationIssues, type ValidationIssue } from './issue-path';
export { isJsonValue, type JsonObject, type JsonValue } from './json';
// The text and JSON checks behind the batch schemas, shared with Rapport's own validation of API input.
export { JSON_LIMITS, jsonProblem, keySegment, textProblem, type JsonProblem } from './text';

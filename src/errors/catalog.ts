/**
 * Every error a client can see has one of these stable codes, exposed as
 * `extensions.code` in GraphQL responses and `code` in HTTP error bodies.
 * Codes never change meaning; new ones are added at the end of a group.
 */
export const ErrorCode = {
  // Request-level
  BAD_REQUEST: 'BAD_REQUEST',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  PAGE_SIZE_EXCEEDED: 'PAGE_SIZE_EXCEEDED',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  NOT_FOUND: 'NOT_FOUND',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  INTROSPECTION_DISABLED: 'INTROSPECTION_DISABLED',
  IDENTIFIER_ERASED: 'IDENTIFIER_ERASED',
  /** An `after` cursor that this server did not issue for this list and ordering (tampered, expired or malformed). */
  INVALID_CURSOR: 'INVALID_CURSOR',
  /** A string or JSON key holds a NUL character or an unpaired surrogate (refused before any SQL). */
  INVALID_TEXT: 'INVALID_TEXT',
  /** An input nests too deep, has too long a list, or a filter or rule tree has too many conditions. */
  INPUT_TOO_COMPLEX: 'INPUT_TOO_COMPLEX',
  // Row-level (ingest)
  INVALID_IDENTIFIER: 'INVALID_IDENTIFIER',
  INVALID_FIELD: 'INVALID_FIELD',
  IDENTITY_CONFLICT: 'IDENTITY_CONFLICT',
  CUSTOMER_NOT_FOUND: 'CUSTOMER_NOT_FOUND',
  DUPLICATE_IN_BATCH: 'DUPLICATE_IN_BATCH',
  BATCH_ABORTED: 'BATCH_ABORTED',
  /** An unverified record (a public write key) would have reached a customer known by identifiers it may not vouch for. */
  IDENTITY_UNVERIFIED: 'IDENTITY_UNVERIFIED',
  // Connectors
  CONNECTOR_NOT_FOUND: 'CONNECTOR_NOT_FOUND',
  CONNECTOR_UNAVAILABLE: 'CONNECTOR_UNAVAILABLE',
  CONNECTOR_CONFIG_INVALID: 'CONNECTOR_CONFIG_INVALID',
  WEBHOOK_SIGNATURE_INVALID: 'WEBHOOK_SIGNATURE_INVALID',
  WEBHOOK_PAYLOAD_INVALID: 'WEBHOOK_PAYLOAD_INVALID',
  IMPORT_FAILED: 'IMPORT_FAILED',
  WEBHOOK_REFUSED: 'WEBHOOK_REFUSED',
  /** An update changes where a connection sends its credentials (an endpoint field) without sending its stored secrets again. */
  SECRETS_REQUIRED: 'SECRETS_REQUIRED',
  /** A plugin did not answer a call (verify, parse, check, config validation, a sync page) within its deadline; its host was killed. */
  PLUGIN_TIMEOUT: 'PLUGIN_TIMEOUT',
  /** A plugin's host ended during a call: it crashed, ran out of memory or broke the host protocol. */
  PLUGIN_CRASHED: 'PLUGIN_CRASHED',
  // Scores
  MODEL_NOT_FITTED: 'MODEL_NOT_FITTED',
  MODEL_FIT_FAILED: 'MODEL_FIT_FAILED',
  // Segments
  SEGMENT_NOT_FOUND: 'SEGMENT_NOT_FOUND',
  SEGMENT_NAME_TAKEN: 'SEGMENT_NAME_TAKEN',
  SEGMENT_RULE_INVALID: 'SEGMENT_RULE_INVALID',
  SEGMENT_RULE_CYCLE: 'SEGMENT_RULE_CYCLE',
  SEGMENT_KIND_MISMATCH: 'SEGMENT_KIND_MISMATCH',
  SEGMENT_IN_USE: 'SEGMENT_IN_USE',
  SEGMENT_PREVIEW_TIMEOUT: 'SEGMENT_PREVIEW_TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An expected failure with a stable code and, where it applies, the input field at fault. */
export class RapportError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RapportError';
  }
}

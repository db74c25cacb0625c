/**
 * Every error a client can see, in one table: its stable code, the HTTP
 * status an HTTP route answers it with, the message template and what it
 * means. In the style of `@fastify/error`'s `createError(code, message,
 * statusCode)`, with named placeholders (`{id}`) filled by {@link fail} and
 * {@link errorMessage}.
 *
 * The code is exposed as `extensions.code` in GraphQL responses and `code`
 * in HTTP error bodies. GraphQL answers keep HTTP 200 whatever the code,
 * except where the server maps one itself (UNAUTHENTICATED 401, RATE_LIMITED
 * 429, PAYLOAD_TOO_LARGE 413, SERVICE_UNAVAILABLE 503). Codes never change meaning; new ones are added
 * at the end of a group. A `{detail}` template is for codes whose sites each
 * explain a different constraint. `docs/errors.md` is generated from this
 * table (`npm run errors:doc`).
 */
export const ERROR_CATALOG = {
  // Request-level
  BAD_REQUEST: { status: 400, message: '{detail}', doc: 'The request is malformed: a wrong method, id, body or argument combination.' },
  VALIDATION_FAILED: {
    status: 400,
    message: '{detail}',
    doc: 'An argument is well-formed but breaks a rule (a range, a length, an allowed value); `field` names it.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'request body is larger than {limit} bytes',
    doc: "The request body is over the server's size limit; nothing was read.",
  },
  BATCH_TOO_LARGE: { status: 400, message: '{detail}', doc: 'A batch or list argument has more items than one call accepts.' },
  PAGE_SIZE_EXCEEDED: { status: 400, message: '{detail}', doc: '`first` is negative or larger than the page limit.' },
  QUERY_TOO_DEEP: {
    status: 400,
    message: 'the query is nested {depth} levels deep; the limit is {limit} (flatten it or split it)',
    doc: 'The operation nests selections deeper than the server allows.',
  },
  NOT_FOUND: { status: 404, message: '{detail}', doc: 'The named thing (route, API key, connection, customer, segment template) does not exist.' },
  INTERNAL_SERVER_ERROR: {
    status: 500,
    message: 'Unexpected error.',
    doc: 'A failure the server did not expect; the details are in the server log, never in the answer.',
  },
  UNAUTHENTICATED: { status: 401, message: '{reason}', doc: 'No credentials, or credentials the server does not accept (unknown, revoked or expired key).' },
  FORBIDDEN: { status: 403, message: '{detail}', doc: 'The key lacks a scope the operation or argument needs (`pii:read`, `connectors:admin`, …).' },
  RATE_LIMITED: {
    status: 429,
    message: 'rate limit exceeded; retry in {seconds} s',
    doc: 'The key used up its request budget; `extensions.retryAfter` says when to retry.',
  },
  QUERY_TOO_COMPLEX: { status: 400, message: '{detail}', doc: 'The operation costs more than the limit, or its document has too many tokens or aliases.' },
  INTROSPECTION_DISABLED: {
    status: 400,
    message: 'introspection is disabled on this server',
    doc: 'Schema introspection is turned off (production); the schema is published as schema.graphql.',
  },
  IDENTIFIER_ERASED: {
    status: 400,
    message: 'this {type} belonged to an erased customer; it can be used again only after a fresh consent (liftErasureTombstone)',
    doc: 'An identifier of an erased customer; refused until its tombstone is lifted.',
  },
  INVALID_CURSOR: {
    status: 400,
    message: 'this cursor was not issued for this list and ordering (or has expired); start again without after',
    doc: 'An `after` cursor that this server did not issue for this list and ordering (tampered, expired or malformed).',
  },
  INVALID_TEXT: { status: 400, message: '{detail}', doc: 'A string or JSON key holds a NUL character or an unpaired surrogate (refused before any SQL).' },
  INPUT_TOO_COMPLEX: {
    status: 400,
    message: '{detail}',
    doc: 'An input nests too deep, has too long a list, or a filter or rule tree has too many conditions.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'a service this request needs is unavailable ({dependency}); retry in {seconds} s',
    doc: 'A dependency (the database or the queue) is away, or the server is shutting down: nothing was done; retry after `Retry-After` seconds (also `extensions.retryAfter`).',
  },
  // Row-level (ingest)
  INVALID_IDENTIFIER: { status: 400, message: '{detail}', doc: 'An identifier is missing, of an unknown type, or not a valid value of its type.' },
  INVALID_FIELD: {
    status: 400,
    message: '{detail}',
    doc: 'A field of a row is missing, too long, of the wrong type or out of range; `field` is its path in the row.',
  },
  IDENTITY_CONFLICT: {
    status: 409,
    message: '{detail}',
    doc: 'The identifiers of a row, or of rows of one batch, belong to more than one customer; never a silent pick.',
  },
  CUSTOMER_NOT_FOUND: { status: 404, message: '{detail}', doc: 'No customer has the id or identifiers given.' },
  MERGE_INVALID: {
    status: 400,
    message: '{detail}',
    doc: 'A merge names no customer to merge, the survivor among the merged, a customer twice, a customer already merged, or persons with organisations; `field` names the id.',
  },
  SURVIVORSHIP_INVALID: {
    status: 400,
    message: '{detail}',
    doc: 'The survivorship rules of a merge are not an object of known rules; `field` is the path of the bad entry.',
  },
  MERGE_NOT_FOUND: { status: 404, message: 'merge {id} does not exist', doc: 'No merge has this id (or it was erased with its customers).' },
  UNMERGE_BLOCKED: {
    status: 409,
    message: '{detail}',
    doc: 'The merge was already undone, or a later merge took its survivor in: undo that one first (merges are undone last first).',
  },
  MERGE_GUARD_RAIL: {
    status: 409,
    message: '{detail}',
    doc: 'An automatic merge would join two different values of a unique identifier type, or a cluster larger than the configured cap.',
  },
  IDENTITY_POLICY_INVALID: {
    status: 400,
    message: '{detail}',
    doc: 'Identity policies name an unknown identifier type or policy, or guard rails out of range; `field` is the path of the bad entry.',
  },
  BATCH_ABORTED: {
    status: 400,
    message: 'not written: other rows of this ATOMIC batch are invalid',
    doc: 'A valid row of an ATOMIC batch that was not written because other rows are invalid.',
  },
  IDENTITY_UNVERIFIED: {
    status: 403,
    message: 'an unverified sender may only write to a new customer or to one known by its own kind of identifiers (an anonymous profile)',
    doc: 'An unverified record (a public write key) would have reached a customer known by identifiers it may not vouch for.',
  },
  // Connectors
  CONNECTOR_NOT_FOUND: { status: 404, message: 'no connector "{id}" is installed; installed: {installed}', doc: 'No installed plugin has this connector id.' },
  CONNECTOR_UNAVAILABLE: {
    status: 503,
    message: '{detail}',
    doc: 'The connector failed to load, failed during a call, or answered something that is not a valid reply.',
  },
  CONNECTOR_CONFIG_INVALID: {
    status: 400,
    message: '{detail}',
    doc: "A connection's config does not satisfy the connector's schema or checks; `details.issues` lists each field.",
  },
  WEBHOOK_PAYLOAD_INVALID: {
    status: 400,
    message: '{detail}',
    doc: 'A webhook delivery was authenticated but its body could not be parsed or holds invalid records.',
  },
  IMPORT_FAILED: {
    status: 400,
    message: '{detail}',
    doc: 'A file import could not run (a file that is not text, empty or unreadable; a mapping naming a missing column, or no identifier or externalId); recorded on its run.',
  },
  WEBHOOK_REFUSED: {
    status: 401,
    message: 'the delivery was refused: the signature is missing, wrong or outside the replay window, or this endpoint does not accept deliveries',
    doc: 'A webhook delivery was refused; one answer for every reason, so the sender cannot learn which connections exist.',
  },
  CONNECTION_CHECK_FAILED: {
    status: 400,
    message: '{detail}',
    doc: "The connector's `check` refused a new or changed config: the credentials (the message names CONNECTOR_AUTHENTICATION) or a setting (CONNECTOR_CONFIG, with `field`); nothing was written.",
  },
  SECRETS_REQUIRED: {
    status: 400,
    message: '{detail}',
    doc: 'An update changes where a connection sends its credentials (an endpoint field) without sending its stored secrets again.',
  },
  PLUGIN_TIMEOUT: {
    status: 503,
    message: '{detail}',
    doc: 'A plugin did not answer a call (verify, parse, check, config validation, a sync page) within its deadline; its host was killed.',
  },
  PLUGIN_CRASHED: { status: 503, message: '{detail}', doc: "A plugin's host ended during a call: it crashed, ran out of memory or broke the host protocol." },
  CONNECTOR_LOAD_FAILED: {
    status: 503,
    message: '{detail}',
    doc: 'A plugin could not be loaded (its module threw, its host died, timed out or answered no manifest); reported on the `connectors` query.',
  },
  CONNECTOR_LOAD_DUPLICATE_ID: {
    status: 503,
    message: 'Connector id "{id}" is already used by {location}; ids must be unique',
    doc: 'Two plugins declare the same connector id; the first loaded keeps it.',
  },
  // Scores
  MODEL_NOT_FITTED: {
    status: 409,
    message: '{detail}',
    doc: 'A score model has no fitted parameters yet (too little data, or a model it depends on is not fitted).',
  },
  MODEL_FIT_FAILED: {
    status: 500,
    message: '{detail}',
    doc: 'Fitting a score model failed: the optimiser diverged or found no finite likelihood, or (CHURN_PROPENSITY) the training set has fewer than 50 customers of either outcome, or no features; the message gives the reason.',
  },
  // Segments
  SEGMENT_NOT_FOUND: { status: 404, message: 'segment {id} does not exist', doc: 'No segment has this id.' },
  SEGMENT_NAME_TAKEN: { status: 409, message: 'a segment named "{name}" already exists', doc: 'Segment names are unique.' },
  SEGMENT_RULE_INVALID: {
    status: 400,
    message: '{detail}',
    doc: 'A segment rule is malformed or refers to something that does not exist; `details.problems` lists every problem.',
  },
  SEGMENT_RULE_CYCLE: {
    status: 400,
    message: '{field}: this reference makes a cycle: {path}',
    doc: 'A rule refers (through inSegment) to a segment that refers back to it.',
  },
  SEGMENT_KIND_MISMATCH: {
    status: 400,
    message: '{detail}',
    doc: 'The operation needs a segment of the other kind (members by hand need STATIC, refresh needs DYNAMIC), or tries to change a kind.',
  },
  SEGMENT_IN_USE: {
    status: 409,
    message: 'segment {id} is used by {users}; change their rules first',
    doc: 'A segment other rules refer to cannot be deleted.',
  },
  SEGMENT_PREVIEW_TIMEOUT: {
    status: 408,
    message:
      'the rule took longer than the preview limit of {limitMs} ms; narrow it (shorter windows, fewer conditions) or create the segment and let it refresh in the background',
    doc: 'A preview ran past its time limit.',
  },
  // Identity matching
  MATCHING_SETTINGS_INVALID: {
    status: 400,
    message: '{detail}',
    doc: 'An identity matching setting is malformed or out of range (`updateIdentityMatching`); `field` names the setting (`person.fields.2.thresholds`).',
  },
  DUPLICATE_PAIR_NOT_FOUND: { status: 404, message: '{detail}', doc: 'No duplicate pair links the two customers given (`dismissDuplicatePair`).' },
  // Subscriptions
  SUBSCRIPTION_LIMIT_EXCEEDED: {
    status: 429,
    message: 'this key already holds {limit} live subscriptions on this gateway; end one before starting another',
    doc: 'The key holds as many live subscriptions as RAPPORT_REALTIME_MAX_SUBSCRIPTIONS allows (SSE and WebSocket together).',
  },
  SUBSCRIPTION_EVENT_RATE_EXCEEDED: {
    status: 429,
    message: 'this subscription received more than {limit} events in one second and was ended; narrow its arguments or filter',
    doc: 'A subscription matched more events per second than RAPPORT_REALTIME_EVENTS_PER_SECOND; it is ended with this error.',
  },
  // Queues (operators)
  JOB_NOT_FOUND: {
    status: 404,
    message: 'queue {queue} has no job {id} (it may have been removed after its retention)',
    doc: 'No job of that queue has this id: it never existed, was removed, or was dropped by retention.',
  },
  JOB_STATE_CONFLICT: {
    status: 409,
    message: 'job {id} of queue {queue} is {state}: {detail}',
    doc: 'The job is not in a state the action applies to: only a failed job can be retried, and an active job cannot be removed.',
  },
  // Outbound webhooks
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, message: 'webhook endpoint {id} does not exist', doc: 'No webhook endpoint has this id.' },
  WEBHOOK_DELIVERY_NOT_FOUND: {
    status: 404,
    message: 'webhook delivery {id} does not exist',
    doc: 'No webhook delivery has this id (or it was deleted with its endpoint).',
  },
  WEBHOOK_URL_REFUSED: {
    status: 400,
    message: '{detail}',
    doc: 'The endpoint URL is not http(s), or its host is (or resolves to) a loopback, private, link-local or metadata address not in RAPPORT_WEBHOOK_ALLOWED_HOSTS.',
  },
  // Alerts
  ALERT_RULE_NOT_FOUND: { status: 404, message: 'alert rule {id} does not exist', doc: 'No alert rule has this id.' },
  ALERT_RULE_NAME_TAKEN: { status: 409, message: 'an alert rule named "{name}" already exists', doc: 'Alert rule names are unique.' },
  ALERT_NOT_FOUND: { status: 404, message: 'alert {id} does not exist', doc: 'No alert has this id.' },
  ALERT_STATUS_CONFLICT: {
    status: 409,
    message: 'alert {id} is {status}; it cannot be {action}',
    doc: 'An alert moves OPEN → ACKNOWLEDGED → RESOLVED: a resolved alert cannot be acknowledged or resolved again.',
  },
} as const satisfies Record<string, ErrorSpec>;

/** One catalog entry. */
export interface ErrorSpec {
  /** The HTTP status an HTTP route answers with; GraphQL answers keep 200 unless the server maps the code. */
  status: number;
  /** The message, with `{name}` placeholders. */
  message: string;
  /** What the code means, for docs/errors.md. */
  doc: string;
}

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** The codes by name, for `ErrorCode.X` references (each is its own value). */
export const ErrorCode = Object.fromEntries(Object.keys(ERROR_CATALOG).map((code) => [code, code])) as { readonly [C in ErrorCode]: C };

/** The placeholder names of a template. */
type Placeholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/** The arguments a code's template needs: one value per placeholder (`{}` for a fixed message). */
export type MessageArgs<C extends ErrorCode> = [Placeholders<(typeof ERROR_CATALOG)[C]['message']>] extends [never]
  ? Record<string, never>
  : { [K in Placeholders<(typeof ERROR_CATALOG)[C]['message']>]: string | number };

/** The message of `code` with its placeholders filled from `args`. */
export function errorMessage<C extends ErrorCode>(code: C, args: MessageArgs<C>): string {
  const values = args as Record<string, string | number>;
  return ERROR_CATALOG[code].message.replace(/\{(\w+)\}/g, (placeholder, name: string) => (name in values ? String(values[name]) : placeholder));
}

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

/** The error for `code`, its message built from the catalog's template: `throw fail('SEGMENT_NOT_FOUND', { id }, 'id')`. */
export function fail<C extends ErrorCode>(code: C, args: MessageArgs<C>, field?: string, details?: Record<string, unknown>): RapportError {
  return new RapportError(code, errorMessage(code, args), field, details);
}

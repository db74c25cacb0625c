import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError, type WebhookVerificationFailure } from './errors';

/**
 * The header Rapport's own signing scheme uses. Connectors for providers with their
 * own header (`stripe-signature`, `x-acme-signature`) read that header instead.
 *
 * @example
 * ```ts
 * const header = request.headers[WEBHOOK_SIGNATURE_HEADER];
 * ```
 */
export const WEBHOOK_SIGNATURE_HEADER = 'x-rapport-signature';

/**
 * How far, in seconds, a signed timestamp may be from the receiver's clock, in either
 * direction, before the request is treated as a replay.
 *
 * @defaultValue 300
 * @example
 * ```ts
 * verifyWebhookSignature({ secret, body, header, toleranceSeconds: DEFAULT_WEBHOOK_TOLERANCE_SECONDS });
 * ```
 */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const SIGNATURE_SCHEME = 'v1';
const HEX_SHA256 = /^[0-9a-f]{64}$/i;
const UNIX_SECONDS = /^\d{1,12}$/;

/**
 * Signs a webhook body: HMAC-SHA256 with `secret` over `${timestamp}.${body}`, returned
 * as the header value `t=<unix seconds>,v1=<hex digest>`. Senders (and tests) use it;
 * receivers use {@link verifyWebhookSignature}.
 *
 * @param secret - the shared signing secret.
 * @param body - the exact bytes that will be sent.
 * @param timestamp - when the request is signed: a `Date`, or unix seconds.
 * @example
 * ```ts
 * const body = JSON.stringify({ id: 'evt_1', type: 'ticket.created' });
 * const header = signWebhook('whsec_123', body, new Date());
 * await fetch(url, { method: 'POST', body, headers: { [WEBHOOK_SIGNATURE_HEADER]: header } });
 * ```
 */
export function signWebhook(secret: string, body: string | Buffer, timestamp: Date | number): string {
  const seconds = typeof timestamp === 'number' ? Math.floor(timestamp) : Math.floor(timestamp.getTime() / 1000);
  return `t=${seconds},${SIGNATURE_SCHEME}=${computeSignature(secret, seconds, body)}`;
}

/**
 * Input of {@link verifyWebhookSignature}.
 *
 * @example
 * ```ts
 * const input: VerifyWebhookSignatureInput = { secret: config.signingSecret, body: request.rawBody, header: request.headers['x-rapport-signature'] };
 * ```
 */
export interface VerifyWebhookSignatureInput {
  /** The shared secret; pass several during a rotation and any of them is accepted. */
  secret: string | readonly string[];
  /** The raw request body, exactly as received (never re-serialised JSON). */
  body: string | Buffer;
  /** The signature header value, `t=<unix>,v1=<hex>[,v1=<hex>…]`; `undefined` when absent. */
  header: string | undefined;
  /** The receiver's clock. @defaultValue `new Date()` */
  now?: Date;
  /** Accepted distance between the signed timestamp and `now`, both ways. @defaultValue 300 */
  toleranceSeconds?: number;
}

/**
 * Outcome of {@link verifyWebhookSignature}: the signed timestamp, or why the request is rejected.
 *
 * @example
 * ```ts
 * const result: WebhookVerificationResult = verifyWebhookSignature(input);
 * if (!result.ok) logger.warn('webhook rejected', { reason: result.reason });
 * ```
 */
export type WebhookVerificationResult = { ok: true; timestamp: Date } | { ok: false; reason: WebhookVerificationFailure };

/**
 * Verifies a header produced by {@link signWebhook}. Compares digests in constant time,
 * accepts any `v1` entry (so senders can sign with an old and a new secret during a
 * rotation), and rejects timestamps more than `toleranceSeconds` in the past or the
 * future. The signature is checked before the timestamp, so an unauthenticated sender
 * learns nothing about the clock window.
 *
 * @example
 * ```ts
 * webhook: {
 *   verify: (request, config) =>
 *     verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers[WEBHOOK_SIGNATURE_HEADER] }).ok,
 *   parse: (request) => toBatch(JSON.parse(request.body)),
 * },
 * ```
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): WebhookVerificationResult {
  const { header, body, now = new Date(), toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS } = input;
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing_header' };

  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed_header' };

  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  const matches = secrets.some((secret) => {
    const expected = Buffer.from(computeSignature(secret, parsed.timestamp, body), 'hex');
    return parsed.signatures.some((candidate) => timingSafeEqual(expected, candidate));
  });
  if (!matches) return { ok: false, reason: 'signature_mismatch' };

  const skew = parsed.timestamp - Math.floor(now.getTime() / 1000);
  if (skew < -toleranceSeconds) return { ok: false, reason: 'timestamp_too_old' };
  if (skew > toleranceSeconds) return { ok: false, reason: 'timestamp_in_future' };
  return { ok: true, timestamp: new Date(parsed.timestamp * 1000) };
}

/**
 * {@link verifyWebhookSignature}, throwing a {@link WebhookVerificationError} with the
 * reason instead of returning it. Convenient inside `parse` or a custom `verify`.
 *
 * @example
 * ```ts
 * assertWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers['x-acme-signature'] });
 * ```
 */
export function assertWebhookSignature(input: VerifyWebhookSignatureInput): Date {
  const result = verifyWebhookSignature(input);
  if (!result.ok) throw new WebhookVerificationError(result.reason);
  return result.timestamp;
}

function computeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

function parseSignatureHeader(header: string): { timestamp: number; signatures: Buffer[] } | undefined {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator <= 0) return undefined;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !UNIX_SECONDS.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === SIGNATURE_SCHEME) {
      if (!HEX_SHA256.test(value)) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v0, v2…) are ignored so senders can add one without breaking receivers.
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}
